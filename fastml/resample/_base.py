"""Shared parts of fastml.resample: the label matrix, conversions back to the input's form,
parameter checks and the samplers' scikit-learn style base class."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from fastml._backend import is_cupy, is_dask, kernels
from fastml._validation import plain_array
from fastml.kernels._parallel import blocks, get_num_threads, map_tasks


def _k():
    return kernels("resample")


@dataclass
class _Labels:
    y: np.ndarray  # uint8, C-contiguous, (n, L)
    names: list | None  # DataFrame columns
    kind: str  # "array", "frame" or "sparse"
    dtype: np.dtype
    source: object  # the input (for its class / columns)


def _is_sparse(x) -> bool:
    return type(x).__module__.startswith("scipy.sparse")


def _label_matrix(Y, name: str = "Y") -> _Labels:
    """Validate a multi-label indicator matrix and return it as C-contiguous uint8."""
    if Y is None:
        raise ValueError(f"{name} is required: the (n_samples, n_labels) 0/1 label matrix.")
    if is_dask(Y):  # labels are small (n x labels): gathered, as the splits do
        Y = Y.compute()
    if is_cupy(Y):  # the resampling algorithms are sequential: labels go to the host
        from fastml._gpu import to_host

        Y = to_host(Y)
    names = None
    kind = "array"
    if _is_sparse(Y):
        if Y.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, n_labels); got shape {Y.shape}")
        csr = Y.tocsr(copy=True)
        csr.sum_duplicates()
        if csr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers or booleans; got dtype {csr.dtype}")
        a = csr.toarray()
        kind = "sparse"
    else:
        columns = getattr(Y, "columns", None)
        if columns is not None and getattr(Y, "ndim", 0) == 2:
            names = list(columns)
            kind = "frame"
        a = plain_array(Y, name)
        if a.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must be a 0/1 indicator matrix of numbers or booleans; got dtype "
                f"{a.dtype}"
            )
    if a.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (n_samples, n_labels) 0/1 indicator matrix; got shape "
            f"{a.shape}. For a single binary target, use Y.reshape(-1, 1)."
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} needs at least one sample and one label; got shape {a.shape}")
    if a.dtype.kind == "b":
        y8 = np.ascontiguousarray(a).view(np.uint8)
    else:
        src = np.ascontiguousarray(_kernel_dtype(a))
        y8 = np.empty(a.shape, np.uint8)
        if not _narrow01(src.reshape(-1), y8.reshape(-1)):
            raise ValueError(f"{name} must contain only 0 and 1 (or booleans)")
    return _Labels(y8, names, kind, a.dtype, Y)


#: Entries per block of the label conversions and copies run on the threads, and the size
#: from which they are.
_BLOCK_ENTRIES = 1 << 18
_PARALLEL_ENTRIES = 1 << 19


def _blockwise(fn, n: int, per_row: int = 1) -> list:
    """``fn(lo, hi)`` over row blocks ``[lo, hi)`` of ``n`` rows (``per_row`` entries each):
    on the threads for a large input, else one call (``fn`` releases the GIL)."""
    if n * per_row < _PARALLEL_ENTRIES or get_num_threads() < 2:
        return [fn(0, n)]
    count, size = blocks(n, max(1, _BLOCK_ENTRIES // max(per_row, 1)))
    return map_tasks(lambda b: fn(b * size, min(n, (b + 1) * size)), count)


def _narrow01(src: np.ndarray, out: np.ndarray) -> bool:
    """The 1-D 0/1 ``src`` into the uint8 ``out``; whether every value was 0 or 1."""
    narrow = kernels("validation").narrow01
    return all(_blockwise(lambda lo, hi: narrow(src[lo:hi], out[lo:hi]), src.shape[0]))


def _stacked_labels(lab: _Labels, syn_y: np.ndarray) -> np.ndarray:
    """The input labels then the rows ``syn_y`` (uint8), in one array of the output's
    dtype (uint8 for bool, which :func:`_restore_labels` views as bool; else the input's
    dtype), written in one pass."""
    n, n_labels = lab.y.shape
    dtype = np.uint8 if lab.dtype == np.bool_ else lab.dtype
    out = np.empty((n + syn_y.shape[0], n_labels), dtype)
    _blockwise(
        lambda lo, hi: np.copyto(out[lo:hi], lab.y[lo:hi], casting="unsafe"), n, n_labels
    )
    out[n:] = syn_y
    return out


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


def _extended_index(index, kept: np.ndarray | None, n_new: int):
    """The index of a resampled pandas object: the labels of the input rows kept (``kept``:
    their positions; None: all, in order), then ``n_new`` fresh labels after the input's:
    ``max + 1, max + 2, ...`` for an integer index, positions ``n, n + 1, ...`` (``n`` the
    input's rows) for any other."""
    import pandas as pd

    out = index if kept is None else index[kept]
    if n_new == 0:
        return out
    if pd.api.types.is_integer_dtype(index.dtype) and not isinstance(index, pd.MultiIndex):
        start = int(index.max()) + 1 if len(index) else 0
    else:
        start = len(index)
    fresh = pd.RangeIndex(start, start + n_new)
    combined = out.append(fresh)
    if not isinstance(combined, pd.MultiIndex):
        combined.name = index.name
    return combined


def _restore_labels(lab: _Labels, y8: np.ndarray, kept: np.ndarray | None = None,
                    n_new: int = 0):
    """``y8`` in the form and dtype of the input label matrix; a DataFrame keeps the index
    of the rows kept (``kept``: their input positions, None: all) and gives the ``n_new``
    rows at the end fresh labels (see :func:`_extended_index`)."""
    out = y8.view(bool) if lab.dtype == np.bool_ else y8.astype(lab.dtype, copy=False)
    if lab.kind == "frame":
        import pandas as pd

        return pd.DataFrame(
            out, columns=lab.source.columns,
            index=_extended_index(lab.source.index, kept, n_new),
        )
    if lab.kind == "sparse":
        import scipy.sparse as sp

        cls = sp.csr_array if isinstance(lab.source, sp.sparray) else sp.csr_matrix
        return cls(out)
    return out


def _key(rng: np.random.Generator) -> np.uint64:
    """A 64-bit key for the kernels' counter-based random streams."""
    return np.uint64(rng.integers(0, 2**63, dtype=np.int64)) * np.uint64(2) + np.uint64(1)


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def _ratio(value, name: str, upper: float | None = None, hint: str = "") -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number; got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = float("inf")
    if not np.isfinite(number) or number < 0 or (upper is not None and number > upper):
        bound = f"in [0, {upper:g}]" if upper is not None else "a finite number >= 0"
        shown = repr(value) if len(repr(value)) <= 30 else f"{number:g}"
        raise ValueError(f"{name} must be {bound}; got {shown}{hint}")
    return number


def _n_rows(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    return len(X)


def _check_rows(X, n: int) -> None:
    if X is None:
        raise ValueError("X is required: the (n_samples, n_features) feature matrix.")
    if is_dask(X):
        from fastml._dask import n_rows

        rows = n_rows(X)
    else:
        rows = _n_rows(X)
    if rows != n:
        raise ValueError(f"X has {rows} rows but Y has {n}: they must match.")


def _take_rows(X, idx: np.ndarray, n_new: int = 0):
    """Rows ``idx`` of ``X`` (array, DataFrame, sparse matrix or list), in its own type.

    The last ``n_new`` of them are new rows (clones): in a pandas object the others keep
    their index labels and these get fresh ones (see :func:`_extended_index`)."""
    if hasattr(X, "iloc"):
        out = X.iloc[idx]
        if n_new:
            out = out.set_axis(_extended_index(X.index, idx[: len(idx) - n_new], n_new))
        return out
    if _is_sparse(X):
        return X.tocsr()[idx]
    return np.asarray(X)[idx]


class _Sampler:
    """Shared parts of the samplers: scikit-learn style parameters and ``fit``."""

    _parameters: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._parameters}

    def set_params(self, **params):
        for name, value in params.items():
            if name not in self._parameters:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._parameters)
        return f"{type(self).__name__}({args})"

    def fit(self, X, Y):
        """Resample and keep only the fitted attributes (use :meth:`fit_resample`)."""
        self.fit_resample(X, Y)
        return self

    def _fitted_input(self, X):
        self.n_features_in_ = None if getattr(X, "ndim", 2) < 2 else np.shape(X)[1]
        columns = getattr(X, "columns", None)
        if columns is not None:
            self.feature_names_in_ = np.asarray(columns, dtype=object)
