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

The fastml-only functions (no reference to hand a call to) share the checkers here too, in
their raising form: :func:`label_matrix` (one label-matrix checker; :class:`LabelRules` say
what each caller accepts and how its messages read) and :func:`sample_weights` with
``errors="raise"``; they raise ValueError or TypeError with a clear message.
"""

from __future__ import annotations

import functools
import numbers
import os
import sys
import warnings
from dataclasses import dataclass, replace
from importlib import import_module
from importlib.util import find_spec
from numbers import Real
from typing import Any, NamedTuple

import numpy as np

from fastml._backend import CUPY, family, is_cupy, is_dask, kernels

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


def sample_weights(
    sample_weight, n_samples: int, *, errors: str = "fallback"
) -> np.ndarray | None:
    """Contiguous float64 weights, one per sample, or None when none were given.

    The one sample-weight checker, for two contracts:

    - ``errors="fallback"`` (drop-ins): a 1-D array of ``n_samples`` numbers, finite, >= 0
      and not all zero, converted as :func:`as_array` does. Anything else raises
      :class:`Unsupported`: the reference then raises or handles it its own way.
    - ``errors="raise"`` (fastml-only functions): ``n_samples`` numbers in any shape
      (flattened), finite and >= 0 (all zero allowed), converted as :func:`to_numpy` does
      (CPU torch tensors, pandas nullable numbers). Non-numbers raise TypeError, anything else
      ValueError, each with the reason.
    """
    if sample_weight is None:
        return None
    if errors not in ("fallback", "raise"):
        raise ValueError(f"errors must be 'fallback' or 'raise', got {errors!r}")
    drop_in = errors == "fallback"

    def refuse(error: type[Exception], reason: str):
        return Unsupported(reason, error) if drop_in else error(reason)

    w = as_array(sample_weight) if drop_in else to_numpy(sample_weight, "sample_weight")
    if w.dtype.kind not in "biuf":
        raise refuse(TypeError, f"sample_weight must be numeric, got dtype {w.dtype}")
    w = np.ascontiguousarray(w, dtype=np.float64)
    if not drop_in:
        w = w.reshape(-1)
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise refuse(
            ValueError, f"sample_weight must have one value per sample ({n_samples}), got {w.size}"
        )
    if not (_all_finite(w) and (w.size == 0 or bool(w.min() >= 0))):
        raise refuse(ValueError, "sample_weight must be finite and >= 0")
    if drop_in and not w.any():
        raise refuse(ValueError, "sample_weight must not be all zero")
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
    y, s, multilabel = scored_shapes(y, s, allow_binary=allow_binary)
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


def scored_shapes(y, s, *, allow_binary: bool = True):
    """The shape checks of :func:`scored_targets` on arrays of any family (raising
    :class:`Unsupported` with a reason): ``(y, s, multilabel)``, a binary pair as one
    column."""
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
    return y, s, multilabel


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


def to_numpy(x, name: str) -> np.ndarray:
    """``x`` as a NumPy array for the fastml-only functions that also take CPU torch tensors
    (the losses): :func:`plain_array`, with a tensor detached from its graph first.

    CuPy arrays, tensors on another device and anything NumPy cannot convert raise TypeError
    (with the reason); a missing value in a pandas object raises ValueError.
    """
    if is_cupy(x):
        raise TypeError(f"{name}: CuPy arrays are not supported yet; pass a NumPy array")
    if type(x).__module__.split(".", 1)[0] == "torch":
        if x.device.type != "cpu":
            raise TypeError(f"{name}: only CPU torch tensors are supported (got {x.device})")
        x = x.detach()  # the NumPy losses never differentiate: a view without the graph
    try:
        return plain_array(x, name, error=TypeError)
    except TypeError as exc:
        if x is None:
            raise
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from exc


# --------------------------------------------------------------------------- label matrices


@dataclass(frozen=True)
class LabelRules:
    """What a fastml-only function accepts as labels, and how its errors read.

    The message fields are ``str.format`` templates over ``name``, ``shape`` and ``dtype``;
    each names the first rule the input breaks, checked in this order: given at all
    (``required``); a sparse matrix's shape and dtype; the conversion (its ValueError
    reworded by ``converted`` when set); numbers or booleans (``dtype``, raised as
    ``dtype_error``; with ``objects``, an object array is first read as float64, else
    ``nonnumeric``); the number of dimensions (``shape``); at least one sample, and
    ``min_labels`` labels (``empty``); the values (``values``, ``float_values`` for floats).
    """

    required: str | None  # None: the conversion's own TypeError
    dtype: str
    shape: str
    empty: str
    values: str  # 0/1 labels: a value other than 0 and 1; soft labels: an integer one
    float_values: str | None = None  # None: ``values`` (soft labels: not checked here)
    sparse_shape: str | None = None  # None: a sparse matrix is converted as any input
    sparse_dtype: str | None = None
    converted: str | None = None  # the conversion's ValueError as ``{detail}``
    nonnumeric: str | None = None
    dtype_error: type[Exception] = TypeError
    ndim: tuple[int, ...] | None = (2,)  # (1, 2): a 1-D input is one label; None: any shape
    min_labels: int = 1
    soft: bool = False  # floats are soft labels, kept as float32 / float64
    objects: bool = False  # object arrays of numbers are read as float64
    keep_sparse: bool = False  # a sparse matrix comes back as CSR (``Labels.csr``)
    tensors: bool = False  # converted by :func:`to_numpy` (no device input) instead of
    # :func:`plain_array` (Dask collections computed, CuPy arrays copied to the host)


#: 0/1 indicator matrices of the resampling functions and the plots.
INDICATOR_RULES = LabelRules(
    required="{name} is required: the (n_samples, n_labels) 0/1 label matrix.",
    sparse_shape="{name} must be 2-D (n_samples, n_labels); got shape {shape}",
    sparse_dtype="{name} must hold numbers or booleans; got dtype {dtype}",
    dtype="{name} must be a 0/1 indicator matrix of numbers or booleans; got dtype {dtype}",
    shape=(
        "{name} must be a 2-D (n_samples, n_labels) 0/1 indicator matrix; got shape {shape}. "
        "For a single binary target, use Y.reshape(-1, 1)."
    ),
    empty="{name} needs at least one sample and one label; got shape {shape}",
    values="{name} must contain only 0 and 1 (or booleans)",
)

_TARGET = (
    "Supported target type is multilabel-indicator: y must be a 0/1 matrix of shape "
    "(n_samples, n_labels) (or a 1-D 0/1 vector for one label); {}."
).format

#: The label matrix the splits stratify on (scikit-learn's wording of a bad target).
SPLIT_RULES = LabelRules(
    required="{name} is required: the (n_samples, n_labels) 0/1 label matrix to stratify on.",
    sparse_shape=_TARGET("got a sparse array of shape {shape}"),
    sparse_dtype=_TARGET("got dtype {dtype}"),
    converted=_TARGET("{detail}"),
    nonnumeric=_TARGET("got non-numeric values"),
    dtype=_TARGET("got dtype {dtype}"),
    dtype_error=ValueError,
    shape=_TARGET("got an array of shape {shape}"),
    empty="{name} has no rows: cannot split 0 samples.",
    values=_TARGET("got values other than 0 and 1"),
    float_values=_TARGET("got values other than 0 and 1 (or NaN)"),
    ndim=(1, 2),
    min_labels=0,
    objects=True,
    keep_sparse=True,
)

#: Targets of the losses (any shape, as the scores): 0/1 or soft labels in [0, 1].
LOSS_TARGET_RULES = LabelRules(
    required=None,
    dtype="{name} must have a bool, integer or float dtype, got {dtype}",
    shape="",
    empty="",
    values="{name} must lie in [0, 1]; integer labels must be 0 or 1",
    ndim=None,
    min_labels=0,
    soft=True,
    tensors=True,
)

#: The label matrices the losses' label weights and priors are computed from, read as the
#: losses' targets (``name`` "y_true") with a matrix's shape (messages naming "Y").
LOSS_LABEL_RULES = replace(
    LOSS_TARGET_RULES,
    shape="Y must be 1-D or 2-D, got shape {shape}",
    empty="Y has no samples",
    float_values="Y must lie in [0, 1] (no NaN)",
    ndim=(1, 2),
)


class Labels(NamedTuple):
    """A validated label matrix (:func:`label_matrix`)."""

    y: np.ndarray | None  # (n, L), C-contiguous: uint8 0/1, or float32 / float64 soft labels
    csr: Any  # canonical CSR of a sparse input kept sparse (``y`` is then None), else None
    names: list | None  # a DataFrame's columns
    kind: str  # "array", "frame" or "sparse"
    dtype: np.dtype  # the input's dtype
    source: object  # the input (Dask and CuPy input: its host copy)


def label_matrix(Y, name: str = "Y", rules: LabelRules = INDICATOR_RULES) -> Labels:
    """The one label-matrix checker of the fastml-only functions.

    ``Y`` (lists, NumPy, pandas with nullable numbers or booleans, SciPy sparse, Dask and
    CuPy copied to the host, torch CPU tensors where ``rules.tensors``) checked and converted
    by ``rules`` (:class:`LabelRules`: :data:`INDICATOR_RULES` by default,
    :data:`SPLIT_RULES`, :data:`LOSS_LABEL_RULES`, :data:`LOSS_TARGET_RULES`): 0/1 labels
    come back as C-contiguous uint8, soft labels as float32 / float64 (the conversion's
    layout kept). Raises ValueError or TypeError with a message for bad input.
    """
    if Y is None and rules.required is not None:
        raise ValueError(rules.required.format(name=name))
    if not rules.tensors:
        if is_dask(Y):  # labels are small (n x labels): gathered
            Y = Y.compute()
        if is_cupy(Y):  # the algorithms that read them run on the host
            from fastml._gpu import to_host

            Y = to_host(Y)
    names, kind = None, "array"
    if rules.sparse_shape is not None and _is_sparse(Y):
        kind = "sparse"
        if Y.ndim != 2:
            raise ValueError(rules.sparse_shape.format(name=name, shape=Y.shape))
        csr = Y.tocsr(copy=True)
        csr.sum_duplicates()
        if csr.dtype.kind not in "biuf":
            raise rules.dtype_error(rules.sparse_dtype.format(name=name, dtype=csr.dtype))
        if rules.keep_sparse:
            if csr.shape[0] == 0:
                raise ValueError(rules.empty.format(name=name, shape=csr.shape))
            csr.eliminate_zeros()
            if csr.data.size and not bool(np.all(csr.data == 1)):
                raise ValueError(rules.values.format(name=name))
            return Labels(None, csr, None, kind, csr.dtype, Y)
        a = csr.toarray()
    else:
        columns = getattr(Y, "columns", None)
        if columns is not None and getattr(Y, "ndim", 0) == 2:
            names, kind = list(columns), "frame"
        a = _converted_labels(Y, name, rules)
    a = _label_dtype(a, name, rules)
    if rules.ndim is None:
        return Labels(a, None, names, kind, a.dtype, Y)
    if a.ndim == 1 and 1 in rules.ndim:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(rules.shape.format(name=name, shape=a.shape))
    if a.shape[0] == 0 or a.shape[1] < rules.min_labels:
        raise ValueError(rules.empty.format(name=name, shape=a.shape))
    return Labels(_label_values(a, name, rules), None, names, kind, a.dtype, Y)


def label_dtype(a, name: str = "y_true", rules: LabelRules = LOSS_TARGET_RULES):
    """The dtype step of :func:`label_matrix` for soft labels, on a NumPy or device array:
    uint8 for booleans (viewed) and 0/1 integers, float32 / float64 for floats (wider or
    narrower ones converted); TypeError for any other dtype."""
    return _label_dtype(a, name, rules)


def _converted_labels(Y, name: str, rules: LabelRules) -> np.ndarray:
    if rules.tensors:
        return to_numpy(Y, name)
    try:
        return plain_array(Y, name)
    except ValueError as exc:  # missing values in a pandas object, ragged lists
        if rules.converted is None:
            raise
        raise ValueError(rules.converted.format(detail=str(exc).rstrip("."))) from exc


def _label_dtype(a, name: str, rules: LabelRules):
    kind = a.dtype.kind
    if kind == "O" and rules.objects:  # e.g. numbers in a list of mixed Python types
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise rules.dtype_error(rules.nonnumeric.format(name=name)) from exc
        kind = "f"
    if kind not in "biuf":
        raise rules.dtype_error(rules.dtype.format(name=name, dtype=a.dtype))
    if not rules.soft:
        return a
    if kind == "b":
        return a.view(np.uint8)
    if kind in "iu":
        if a.size and bool((a.min() < 0) | (a.max() > 1)):
            raise ValueError(rules.values.format(name=name))
        return a if a.dtype == np.uint8 else a.astype(np.uint8)
    if a.dtype in (np.float32, np.float64):
        return a
    return a.astype(np.float32 if a.dtype.itemsize < 4 else np.float64)


def _label_values(a: np.ndarray, name: str, rules: LabelRules) -> np.ndarray:
    """0/1 labels as C-contiguous uint8 (checked); soft labels checked to lie in [0, 1]."""
    if rules.soft:
        if a.dtype.kind == "f" and rules.float_values is not None and not (
                np.all(a >= 0) and np.all(a <= 1)):
            raise ValueError(rules.float_values.format(name=name))
        return a
    if a.dtype.kind == "b":
        return np.ascontiguousarray(a).view(np.uint8)
    src = np.ascontiguousarray(_kernel_dtype(a))
    y8 = np.empty(a.shape, np.uint8)
    if src.dtype in _WIDE and src.dtype.isnative:  # the vectorised check-and-narrow pass
        ok = src.size == 0 or kernels("validation").narrow_indicator(
            src.reshape(-1).view(np.uint64), y8.reshape(-1), src.dtype.kind == "f"
        )
    else:
        ok = _narrow01(src.reshape(-1), y8.reshape(-1))
    if not ok:
        message = rules.float_values if a.dtype.kind == "f" else None
        raise ValueError((message or rules.values).format(name=name))
    return y8


def _kernel_dtype(a: np.ndarray) -> np.ndarray:
    """A numeric ``a`` in a dtype the kernels take, each value 0 or 1 kept as it is.

    float16 widens to float32 (exact). Floats wider than float64 (long double) narrow to
    float64 with every value other than 0 and 1 turned into NaN, so that no value near 1
    passes for 1.
    """
    if a.dtype == np.float16:
        return a.astype(np.float32)
    if a.dtype.kind == "f" and a.dtype.itemsize > 8:
        return np.where((a == 0) | (a == 1), a, np.nan).astype(np.float64)
    return a


#: Entries per block of the label conversions and copies run on the threads, and the size
#: from which they are.
_BLOCK_ENTRIES = 1 << 18
_PARALLEL_ENTRIES = 1 << 19


def blockwise(fn, n: int, per_row: int = 1) -> list:
    """``fn(lo, hi)`` over row blocks ``[lo, hi)`` of ``n`` rows (``per_row`` entries each):
    on fastml's threads for a large input, else one call (``fn`` releases the GIL)."""
    from fastml.kernels._parallel import blocks, get_num_threads, map_tasks

    if n * per_row < _PARALLEL_ENTRIES or get_num_threads() < 2:
        return [fn(0, n)]
    count, size = blocks(n, max(1, _BLOCK_ENTRIES // max(per_row, 1)))
    return map_tasks(lambda b: fn(b * size, min(n, (b + 1) * size)), count)


def _narrow01(src: np.ndarray, out: np.ndarray) -> bool:
    """The 1-D 0/1 ``src`` into the uint8 ``out``; whether every value was 0 or 1."""
    narrow = kernels("validation").narrow01
    return all(blockwise(lambda lo, hi: narrow(src[lo:hi], out[lo:hi]), src.shape[0]))


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
