"""Shared parts of fastml.resample: the labels and rows back in the input's form, parameter
checks and the samplers' scikit-learn style base class. (The label matrix is checked by
:func:`fastml._validation.label_matrix`.)"""

from __future__ import annotations

import numbers

import numpy as np

from fastml._backend import is_dask, kernels
from fastml._validation import Labels, _is_sparse, blockwise


def _k():
    return kernels("resample")


def _stacked_labels(lab: Labels, syn_y: np.ndarray) -> np.ndarray:
    """The input labels then the rows ``syn_y`` (uint8), in one array of the output's
    dtype (uint8 for bool, which :func:`_restore_labels` views as bool; else the input's
    dtype), written in one pass."""
    n, n_labels = lab.y.shape
    dtype = np.uint8 if lab.dtype == np.bool_ else lab.dtype
    out = np.empty((n + syn_y.shape[0], n_labels), dtype)
    blockwise(
        lambda lo, hi: np.copyto(out[lo:hi], lab.y[lo:hi], casting="unsafe"), n, n_labels
    )
    out[n:] = syn_y
    return out


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


def _restore_labels(lab: Labels, y8: np.ndarray, kept: np.ndarray | None = None,
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
