"""Input handling shared by the public API.

Every public function has a *fast path* for the inputs its kernels cover (0/1 indicator
targets, finite numeric scores, valid sample weights, supported parameter values). The
helpers here convert inputs for that path once, and raise :class:`Unsupported` for anything
else. The :func:`reference_fallback` decorator then hands the call, with its arguments
unchanged, to the reference implementation (scikit-learn), which returns its own result for
the unusual-but-valid input or raises its own exception with its own message for bad input.

So a fastml function never differs from its reference on input it does not accelerate, and
scikit-learn (about a second to import) is imported only when that happens or when one of
its warning classes is needed.
"""

from __future__ import annotations

import functools
import numbers
import os
import sys
import warnings
from importlib import import_module
from importlib.util import find_spec
from numbers import Real
from typing import NamedTuple

import numpy as np

from fastml._backend import CUPY, family, is_cupy, kernels

_MAX_EXACT_INT = 2**53


class Unsupported(Exception):
    """Raised while preparing inputs when the fast path does not cover them.

    ``reason`` says why; ``error`` is the exception class a fastml-only function raises
    with that reason, where the reason decides it (None: the caller's choice).
    """

    def __init__(self, reason: str = "", error: type[Exception] | None = None):
        super().__init__(reason)
        self.error = error


_REFERENCES: dict[tuple[str, str], object] = {}


def reference(name: str, module: str = "sklearn.metrics"):
    """The reference implementation ``module.name`` (imported on first use, then cached).

    If ``module.name`` has been replaced by fastml's own function (a test harness swapping
    fastml in, say), the original is taken from the submodule of ``module`` that defines it.
    """
    key = (module, name)
    found = _REFERENCES.get(key)
    if found is None:
        found = getattr(import_module(module), name)
        if hasattr(found, "__fastml_reference__"):
            found = _original(name, module)
        _REFERENCES[key] = found
    return found


def _original(name: str, module: str):
    prefix = module + "."
    for mod_name, mod in list(sys.modules.items()):
        if mod_name.startswith(prefix):
            candidate = getattr(mod, name, None)
            if callable(candidate) and not hasattr(candidate, "__fastml_reference__"):
                return candidate
    raise RuntimeError(
        f"{module}.{name} has been replaced by fastml's function and its original definition "
        "could not be found"
    )


def reference_fallback(name: str, module: str = "sklearn.metrics"):
    """Decorate a fast function so that :class:`Unsupported` hands the call to the reference.

    The fast function must raise :class:`Unsupported` before it has any side effect (no
    warning emitted, no kernel run), so that the reference sees the call as if it were first.
    """

    def decorate(fast):
        @functools.wraps(fast)
        def wrapper(*args, **kwargs):
            try:
                return fast(*args, **kwargs)
            except Unsupported:
                return reference(name, module)(*args, **kwargs)

        wrapper.__fastml_reference__ = f"{module}.{name}"
        return wrapper

    return decorate


def is_option(value, options) -> bool:
    """``value in options`` for string/None options, safe for arrays and unhashable values."""
    if value is None:
        return None in options
    return isinstance(value, str) and value in options


def require(condition: bool, reason: str = "") -> None:
    """Raise :class:`Unsupported` (carrying ``reason``) unless ``condition`` holds."""
    if not condition:
        raise Unsupported(reason)


def undefined_metric_warning() -> type[Warning]:
    """scikit-learn's ``UndefinedMetricWarning`` class (imports scikit-learn on first use)."""
    return import_module("sklearn.exceptions").UndefinedMetricWarning


_INTERNAL_DIRS: tuple[str, ...] | None = None


def _internal_dirs() -> tuple[str, ...]:
    """Folders of fastml's own Python files: the package and its kernels (installed as
    ``fastml.kernels`` from a folder of their own), each ending with a separator."""
    global _INTERNAL_DIRS
    if _INTERNAL_DIRS is None:
        import fastml

        dirs = [os.path.dirname(os.path.abspath(fastml.__file__))]
        try:
            spec = find_spec("fastml.kernels")
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            dirs.extend(os.path.abspath(d) for d in spec.submodule_search_locations)
        _INTERNAL_DIRS = tuple(os.path.join(d, "") for d in dirs)
    return _INTERNAL_DIRS


def find_stack_level() -> int:
    """The ``stacklevel`` that makes a warning point at the first frame outside fastml.

    Counted from the caller of this function: frames of fastml's own files (the public
    function, its helpers, the reference-fallback wrapper) are skipped, so the warning
    names the user's line however deep in fastml it was raised (as pandas'
    ``find_stack_level`` does).
    """
    internal = _internal_dirs()
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(internal):
            break
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` pointing at the caller of fastml."""
    warnings.warn(message, category, stacklevel=find_stack_level())


def warn_undefined(message: str, stacklevel: int | None = None) -> None:
    """Emit ``message`` as scikit-learn's ``UndefinedMetricWarning``, pointing at the
    caller of fastml (``stacklevel`` is ignored: the level is found on the stack)."""
    warnings.warn(message, undefined_metric_warning(), stacklevel=find_stack_level())


# --------------------------------------------------------------------------- conversions


def _is_sparse(x) -> bool:
    return type(x).__module__.startswith("scipy.sparse")


def _is_pandas(x) -> bool:
    return type(x).__module__.startswith("pandas")


def _has_extension_dtype(x) -> bool:
    """True for pandas objects holding extension (nullable, sparse, categorical) dtypes,
    which a reference reads its own way (sparse frames become SciPy matrices there).

    Decided from the type's module: other array types with an ``index`` method and a
    ``dtype`` of their own (torch tensors) are not pandas objects."""
    if not _is_pandas(x):
        return False
    dtypes = getattr(x, "dtypes", None)
    if dtypes is not None and hasattr(x, "columns"):
        return any(not isinstance(dt, np.dtype) for dt in dtypes)
    dtype = getattr(x, "dtype", None)
    return dtype is not None and not isinstance(dtype, np.dtype)


def _extension_values(column, name: str) -> np.ndarray:
    """The NumPy values of one pandas column (or Series/Index) of an extension dtype."""
    if bool(np.asarray(column.isna()).any()):
        raise Unsupported(
            f"{name} contains missing values (NA); fill or drop them before calling.",
            ValueError,
        )
    numpy_dtype = getattr(column.dtype, "numpy_dtype", None)
    if isinstance(numpy_dtype, np.dtype) and numpy_dtype.kind in "biuf":
        # nullable Int64 / boolean / Float64 and Arrow numbers: their values, exactly
        return column.to_numpy(dtype=numpy_dtype)
    return np.asarray(column)


def host_array(x, name: str = "input", *, extension_dtypes: bool = False) -> np.ndarray:
    """``x`` as a NumPy array in native byte order: the one conversion every module uses.

    Converted: NumPy arrays; nested lists and tuples; pandas objects; anything NumPy can
    read through ``__array__``, ``__array_interface__`` or DLPack's ``__dlpack__`` (CPU
    torch tensors, JAX and TensorFlow CPU arrays ...: a view, not a copy, where the object
    allows it). Big-endian numbers become native ones (same values).

    pandas extension dtypes (nullable ``Int64`` / ``boolean`` / ``Float64``, Arrow,
    categorical, sparse columns) are converted only when ``extension_dtypes`` (the
    fastml-only functions): numeric ones to their NumPy dtype, others to the NumPy array of
    their values; a missing value in them raises. Drop-ins leave them to their reference
    (scikit-learn rejects some of them in some functions and reads others its own way).

    Raises :class:`Unsupported` with the reason (and the exception class a fastml-only
    function raises) for None, arrays on a device, refused extension dtypes, missing values
    and anything NumPy cannot convert (ragged lists ...). The dtype is not checked
    otherwise: the caller decides what it accepts. SciPy sparse matrices are the caller's.
    """
    if x is None:
        raise Unsupported(f"{name} is None.", TypeError)
    if type(x) is not np.ndarray:
        if is_cupy(x) or family(x) == CUPY:
            raise Unsupported(
                f"{name} is on a GPU; pass a CuPy array (where supported) or host data.",
                TypeError,
            )
        if _is_pandas(x) and _has_extension_dtype(x):
            if not extension_dtypes:
                raise Unsupported(f"{name} has pandas extension dtypes.", TypeError)
            if hasattr(x, "columns"):
                columns = [_extension_values(x.iloc[:, j], name) for j in range(x.shape[1])]
                x = np.stack(columns, axis=1) if columns else np.empty((x.shape[0], 0))
            else:
                x = _extension_values(x, name)
        try:
            if isinstance(x, np.ndarray):
                pass
            elif hasattr(x, "__dlpack__") and not (
                hasattr(x, "__array__")
                or hasattr(x, "__array_interface__")
                or hasattr(x, "__array_struct__")
            ):
                x = np.from_dlpack(x)
            else:
                x = np.asarray(x)
        except Exception as exc:  # ragged lists, tensors needing a gradient, ...
            raise Unsupported(f"{name} could not be converted to an array: {exc}") from exc
    if x.dtype.kind in "biufc" and not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    return x


def as_array(x, *, allow_sparse: bool = False) -> np.ndarray:
    """A NumPy array of numeric or bool dtype for a drop-in's fast path (see
    :func:`host_array`, whose conversion this is).

    SciPy sparse 0/1 indicators become dense arrays when ``allow_sparse`` (the caller's
    reference accepts them): only when every stored value is 1, since a reference reads
    explicitly stored zeros and duplicate entries its own way. Anything else (None, CuPy
    arrays, object or string dtypes, pandas extension dtypes, ragged lists) raises
    :class:`Unsupported`.
    """
    if _is_sparse(x):
        require(allow_sparse and x.ndim == 2)
        csr = x.tocsr()
        require(csr.has_canonical_format and bool(np.all(csr.data == 1)))
        x = csr.toarray()
    x = host_array(x)
    require(x.dtype.kind in "biuf")
    return x


_WIDE = (np.dtype(np.int64), np.dtype(np.float64))


def binary_indicator(y: np.ndarray) -> np.ndarray:
    """``y`` as a uint8 array of the same shape and layout if every value is 0 or 1.

    Bool and one-byte integer arrays are viewed, not copied; contiguous int64 and float64
    arrays are checked and narrowed in one parallel pass.
    """
    kind = y.dtype.kind
    if kind == "b":
        return y.view(np.uint8)
    require(y.size > 0)
    if y.dtype in _WIDE and (y.flags.c_contiguous or y.flags.f_contiguous):
        flip = not y.flags.c_contiguous  # Fortran order: narrow the C-ordered transpose
        src = y.T if flip else y
        out = np.empty(src.shape, dtype=np.uint8)
        ok = kernels("validation").narrow_indicator(
            src.reshape(-1).view(np.uint64), out.reshape(-1), kind == "f"
        )
        require(ok)
        return out.T if flip else out
    if kind in "iu":
        require(y.min() >= 0 and y.max() <= 1)
        return y.view(np.uint8) if y.dtype.itemsize == 1 else y.astype(np.uint8)
    require(kind == "f" and bool(np.all((y == 0) | (y == 1))))
    return y.astype(np.uint8)


def _all_finite(a: np.ndarray) -> bool:
    # A finite sum proves every element finite; an inf/NaN sum may still be overflow.
    if a.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(a).all())


def finite_scores(s: np.ndarray) -> np.ndarray:
    """``s`` as float32 or float64 with every value finite.

    Float32/float64 stay as they are (no copy), float16 becomes float32, integers become
    float64 when that is exact (|value| <= 2**53). Bool scores, NaN or inf raise
    :class:`Unsupported`.
    """
    kind = s.dtype.kind
    if kind == "f":
        if s.dtype == np.float16:
            s = s.astype(np.float32)
        require(s.dtype in (np.float32, np.float64))
        require(_all_finite(s))
        return s
    require(kind in "iu")
    if s.dtype.itemsize == 8 and s.size:
        require(max(abs(int(s.min())), abs(int(s.max()))) <= _MAX_EXACT_INT)
    return s.astype(np.float64)


def sample_weights(sample_weight, n_samples: int) -> np.ndarray | None:
    """Contiguous float64 weights of length ``n_samples``, or None when none were given.

    Weights that are negative, non-finite, all zero or of the wrong shape raise
    :class:`Unsupported` (the reference then raises or handles them its own way).
    """
    if sample_weight is None:
        return None
    w = as_array(sample_weight)
    require(w.ndim == 1 and w.shape[0] == n_samples)
    w = np.ascontiguousarray(w, dtype=np.float64)
    require(_all_finite(w) and bool(w.min() >= 0) and bool(w.any()))
    return w


# Non-zero weights may span at most this many binary orders of magnitude in unit_weights.
_MAX_WEIGHT_SPAN = 900


def unit_weights(w: np.ndarray | None) -> tuple[np.ndarray | None, int]:
    """``(w * 2**-e, e)`` with ``e`` chosen so that the largest weight lies in [0.5, 1).

    Score-curve metrics depend on the weights only through ratios of weight sums, and the
    kernels multiply such sums together; weights near the ends of the float64 range would
    overflow there (or underflow to zero). Scaling by a power of two is exact, so the
    rescaled weights give the same metrics as the given ones, with every sum and product of
    sums in range. ``e`` lets a caller recover a weight sum in the given scale
    (``np.ldexp(total, e)``).

    Raises :class:`Unsupported` when the non-zero weights span more than ``2**900``: the
    smallest would then fall out of the normal float64 range after scaling, and products of
    their sums could underflow; the reference computes such calls its own way.
    """
    if w is None:
        return None, 0
    e = int(np.frexp(w.max())[1])
    smallest = w.min()
    if smallest == 0:
        smallest = w[w > 0].min()
    require(bool(np.ldexp(smallest, -e) >= 2.0**-_MAX_WEIGHT_SPAN))
    return np.ldexp(w, -e), e


def binary_target(y_true, pos_label=None) -> np.ndarray:
    """A 1-D binary target with any two labels (numbers, bools or strings) as uint8 0/1.

    The positive class is ``pos_label``, or, when it is None, the greater of the labels
    present (scikit-learn's rule for ROC AUC). Raises :class:`Unsupported` for anything that
    is not a 1-D array of at most two labels, for float labels that are not integral, and when
    ``pos_label`` is not one of two labels present or is of another kind than the labels.
    """
    if y_true is None or is_cupy(y_true) or _is_sparse(y_true):
        raise Unsupported
    try:
        y = y_true if type(y_true) is np.ndarray else np.asarray(y_true)
    except Exception as exc:
        raise Unsupported from exc
    require(y.ndim == 1 and y.size > 0)
    kind = y.dtype.kind
    if kind == "O":
        require(all(type(v) is str for v in y))
        y = y.astype(str)
        kind = "U"
    if kind in "US":
        labels = np.unique(y)
        require(pos_label is None or isinstance(pos_label, str))
    else:
        require(kind in "biuf")
        lo, hi = y.min(), y.max()
        require(bool(np.count_nonzero((y == lo) | (y == hi)) == y.size))
        if kind == "f":
            require(bool(lo == np.floor(lo)) and bool(hi == np.floor(hi)))
        labels = np.array([lo]) if lo == hi else np.array([lo, hi])
        require(
            pos_label is None
            or (isinstance(pos_label, (Real, np.number)) and not isinstance(pos_label, complex))
        )
    require(len(labels) <= 2)
    if pos_label is None:
        if len(labels) == 1:
            return np.zeros(y.shape, np.uint8)
        pos_label = labels[-1]
    else:
        require(len(labels) == 1 or bool(np.any(labels == pos_label)))
    return (y == pos_label).view(np.uint8)


class ScoredTargets(NamedTuple):
    """Validated inputs of a score-based metric."""

    y: np.ndarray  # uint8 0/1, shape (n_samples, n_labels), any layout
    score: np.ndarray  # float32 or float64, shape (n_samples, n_labels), any layout
    weight: np.ndarray | None  # float64 (n_samples,) or None
    multilabel: bool  # False: 1-D binary input, seen here as one label


def scored_targets(
    y_true,
    y_score,
    sample_weight=None,
    *,
    allow_sparse: bool = False,
    allow_binary: bool = True,
) -> ScoredTargets:
    """Prepare ``(y_true, y_score, sample_weight)`` for a score-based metric.

    Covered: a 2-D 0/1 indicator ``y_true`` with at least two columns and a ``y_score`` of the
    same shape (multi-label), or, when ``allow_binary``, 1-D 0/1 ``y_true`` and ``y_score`` of
    one length (binary, returned as one column). At least one sample.
    """
    y = as_array(y_true, allow_sparse=allow_sparse)
    s = as_array(y_score)
    if y.ndim == 2:
        multilabel = True
        require(s.ndim == 2 and y.shape == s.shape,
                f"y_true and y_score must have the same shape, got {y.shape} and {s.shape}")
        require(y.shape[1] >= 2, f"a 2-D y_true needs at least 2 labels, got {y.shape}")
    else:
        multilabel = False
        require(allow_binary and y.ndim == 1, f"y_true must be 2-D (n_samples, n_labels), "
                f"got shape {y.shape}")
        require(s.ndim == 1 and y.shape == s.shape,
                f"y_true and y_score must have the same shape, got {y.shape} and {s.shape}")
        y, s = y.reshape(-1, 1), s.reshape(-1, 1)
    require(y.shape[0] >= 1, "no samples")
    try:
        y8 = binary_indicator(y)
    except Unsupported:
        raise Unsupported("y_true must hold only 0 and 1 (or booleans)") from None
    try:
        s = finite_scores(s)
    except Unsupported:
        raise Unsupported("y_score must hold finite numbers") from None
    w = sample_weights(sample_weight, y.shape[0])
    return ScoredTargets(y8, s, w, multilabel)


def plain_array(x, name: str, *, error: type[Exception] | None = None) -> np.ndarray:
    """``x`` as a NumPy array in native byte order, for the fastml-only functions.

    :func:`host_array` with pandas extension dtypes accepted: nullable and Arrow numbers or
    booleans (``Int64``, ``boolean``, ``Float64``, ...) become their NumPy dtype,
    categorical, string and other extension columns the NumPy array of their values. A
    missing value raises ValueError; input NumPy cannot convert raises ``error`` (default:
    ValueError, or TypeError for None and device arrays). The dtype is not checked
    otherwise: the caller decides what it accepts.
    """
    try:
        return host_array(x, name, extension_dtypes=True)
    except Unsupported as exc:
        cls = exc.error or error or ValueError
        raise cls(str(exc)) from exc.__cause__


class RandomStateError(TypeError, ValueError):
    """A ``random_state`` that cannot seed a generator. A TypeError (it is of the wrong
    type) and a ValueError (what scikit-learn's ``check_random_state`` raises), so code
    written against either keeps working."""


def random_generator(random_state) -> np.random.Generator:
    """A NumPy ``Generator`` from scikit-learn's ``random_state`` conventions.

    None: drawn from NumPy's global ``RandomState`` (as scikit-learn's None); an int >= 0:
    seeded by it; a ``RandomState``: drawn from it; a ``Generator``: itself. A negative int
    raises ValueError, anything else :class:`RandomStateError`.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        random_state = np.random.mtrand._rand
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1, size=4))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer; got {random_state}")
        return np.random.default_rng(int(random_state))
    raise RandomStateError(
        f"{random_state!r} cannot be used to seed a random generator: pass None, an int, a "
        "numpy.random.Generator or a numpy.random.RandomState"
    )
