"""Multi-label imbalance measures and resampling: MLSMOTE, ML-ROS and ML-RUS.

Measures (Charte, Rivera, del Jesus & Herrera, 2015), as the mldr R package computes them:

- ``IRLbl`` of a label: (positives of the most frequent label) / (positives of the label).
  A label without positives gets IRLbl 0 (mldr's convention), and is counted as 0 in MeanIR.
- ``MeanIR``, ``MaxIR``: mean and maximum IRLbl over the labels; ``CVIR``: the standard
  deviation of IRLbl (over labels, ``ddof=1``) divided by MeanIR.
- ``SCUMBLE`` of a row: 1 - (geometric mean) / (arithmetic mean) of the IRLbl of the row's
  labels (0 for a row with fewer than two labels); of the data set: its mean over all rows;
  of a label: its mean over the rows having the label (NaN for a label without positives).

Resampling, with imbalanced-learn's ``fit_resample(X, Y)`` contract (original rows first,
then the new ones; ``Y`` is the (n_samples, n_labels) 0/1 matrix):

- :class:`MLSMOTE` / :func:`mlsmote`: synthetic rows for the minority labels (Charte et al.,
  Knowledge-Based Systems 2015).
- :class:`MLROS` / :func:`mlros` and :class:`MLRUS` / :func:`mlrus`: random over-sampling
  (cloning) and under-sampling (deletion) of the rows of the minority / majority labels'
  bags (Charte et al., Neurocomputing 2015).

Everything random takes ``random_state`` (None, an int, a ``numpy.random.Generator`` or
``RandomState``): the same seed gives the same output, whatever the number of threads. The
work runs in compiled kernels (``fastml.kernels.cpu.resample``) on ``fastml.set_num_threads``
threads (``FASTML_NUM_THREADS`` at start-up).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fastml._backend import is_cupy, is_dask, kernels
from fastml._validation import _all_finite, plain_array, random_generator
from fastml.kernels._parallel import blocks, get_num_threads, map_tasks

__all__ = [
    "MLROS",
    "MLRUS",
    "MLSMOTE",
    "ImbalanceReport",
    "cvir",
    "imbalance_report",
    "irlbl",
    "max_ir",
    "mean_ir",
    "mlros",
    "mlrus",
    "mlsmote",
    "scumble",
    "scumble_per_label",
    "scumble_per_sample",
]

#: Largest ML-ROS ``sampling_ratio``: at most ten clones per input row. The clone budget is
#: an upper bound (cloning stops earlier once every minority label reaches MeanIR), so a
#: large value means "until balanced"; the cap bounds the output when that never happens.
_MAX_CLONE_RATIO = 10.0
_FIRST_BUDGET = 1 << 16  # clone buffer of ML-ROS's first try (see _clones)

_STRATEGIES = ("ranking", "union", "intersection")
_GAPS = ("feature", "sample")


def _k():
    return kernels("resample")


# ------------------------------------------------------------------------------ inputs


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


# ------------------------------------------------------------------------------ measures


def _measure_labels(Y):
    """(uint8 labels, device namespace or None): device labels stay on the device for the
    imbalance measures (GPU kernels); everything else goes through :func:`_label_matrix`."""
    if not is_cupy(Y):
        return _label_matrix(Y).y, None
    from fastml._gpu import namespace
    from fastml._validation import Unsupported
    from fastml.metrics import _gpu

    xp = namespace(Y)
    if getattr(Y, "ndim", 0) != 2 or 0 in Y.shape:
        raise ValueError(
            f"Y must be a 2-D (n_samples, n_labels) 0/1 indicator matrix with at least one "
            f"sample and one label; got shape {getattr(Y, 'shape', None)}"
        )
    if Y.dtype.kind not in "biuf":
        raise TypeError(f"Y must hold numbers or booleans; got dtype {Y.dtype}")
    try:
        y8 = _gpu.indicator(Y)
    except Unsupported:
        raise ValueError("Y must contain only 0 and 1 (or booleans)") from None
    return _gpu.mark(xp, y8), xp


def _kr(y8):
    """The imbalance-measure kernels of the labels' family."""
    if is_cupy(y8):
        from fastml._gpu import gpu_kernels

        return gpu_kernels("resample")
    return _k()


def _counts(y8: np.ndarray) -> np.ndarray:
    return _kr(y8).label_counts(y8)


def _irlbl_from_counts(counts: np.ndarray) -> np.ndarray:
    top = counts.max()
    out = np.zeros(counts.shape[0])
    has = counts > 0
    out[has] = top / counts[has]
    return out


def _cvir(ir: np.ndarray) -> float:
    mean = ir.mean()
    if ir.shape[0] < 2:
        return 0.0 if mean > 0 else float("nan")
    if mean == 0:
        return float("nan")
    return float(ir.std(ddof=1) / mean)


def irlbl(Y) -> np.ndarray:
    """Imbalance ratio per label: positives of the most frequent label / positives of the label.

    Parameters
    ----------
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 (or boolean) label indicator matrix.

    Returns
    -------
    ndarray of shape (n_labels,)
        1 for the most frequent label(s), larger for rarer ones; 0 for a label without
        positives (the mldr package's convention).

    Examples
    --------
    >>> from fastml.resample import irlbl
    >>> irlbl([[1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0]]).tolist()
    [1.0, 1.5, 0.0]
    """
    y8, xp = _measure_labels(Y)
    out = _irlbl_from_counts(_counts(y8))
    return out if xp is None else xp.asarray(out)


def mean_ir(Y) -> float:
    """Mean of :func:`irlbl` over the labels (labels without positives count as 0).

    Examples
    --------
    >>> from fastml.resample import mean_ir
    >>> mean_ir([[1, 1], [1, 0], [1, 0], [0, 1]])
    1.25
    """
    return float(irlbl(Y).mean())


def max_ir(Y) -> float:
    """Largest :func:`irlbl` over the labels.

    Examples
    --------
    >>> from fastml.resample import max_ir
    >>> max_ir([[1, 1], [1, 0], [1, 0], [0, 1]])
    1.5
    """
    return float(irlbl(Y).max())


def cvir(Y) -> float:
    """Coefficient of variation of IRLbl: its standard deviation over labels (``ddof=1``)
    divided by MeanIR. 0 for a single label; NaN when no label has a positive.

    Examples
    --------
    >>> from fastml.resample import cvir
    >>> round(cvir([[1, 1], [1, 0], [1, 0], [0, 1]]), 6)
    0.282843
    """
    return _cvir(irlbl(Y))


def _scumble_all(y8: np.ndarray):
    counts = _counts(y8)
    ir = _irlbl_from_counts(counts)
    total, per_label, _ = _kr(y8).scumble(y8, ir)
    with np.errstate(invalid="ignore", divide="ignore"):
        label = np.where(counts > 0, per_label / np.maximum(counts, 1), np.nan)
    return counts, ir, float(total / y8.shape[0]), label


def scumble(Y) -> float:
    """SCUMBLE of the data set: the mean over rows of 1 - (geometric mean) / (arithmetic
    mean) of the IRLbl of the row's labels (rows with fewer than two labels count as 0).

    High values mean rare labels mostly appear together with frequent ones, which makes
    resampling less effective.

    Examples
    --------
    >>> from fastml.resample import scumble
    >>> round(scumble([[1, 1], [1, 0], [1, 0], [0, 1]]), 6)
    0.005051
    """
    return _scumble_all(_measure_labels(Y)[0])[2]


def scumble_per_label(Y) -> np.ndarray:
    """SCUMBLE of each label: the mean row SCUMBLE over the rows having the label (NaN for a
    label without positives).

    Examples
    --------
    >>> from fastml.resample import scumble_per_label
    >>> scumble_per_label([[1, 1], [1, 0], [1, 0], [0, 1]]).round(6).tolist()
    [0.006735, 0.010102]
    """
    y8, xp = _measure_labels(Y)
    out = _scumble_all(y8)[3]
    return out if xp is None else xp.asarray(out)


def scumble_per_sample(Y) -> np.ndarray:
    """SCUMBLE of each row (0 for rows with fewer than two labels).

    Examples
    --------
    >>> from fastml.resample import scumble_per_sample
    >>> scumble_per_sample([[1, 1], [1, 0], [1, 0], [0, 1]]).round(6).tolist()
    [0.020204, 0.0, 0.0, 0.0]
    """
    y8, _ = _measure_labels(Y)
    return _kr(y8).scumble(y8, _irlbl_from_counts(_counts(y8)), per_row=True)[2]


@dataclass(frozen=True)
class ImbalanceReport:
    """Imbalance measures of a multi-label data set (see :func:`imbalance_report`)."""

    label_names: list
    count: np.ndarray  # positives per label (int64)
    prevalence: np.ndarray  # count / n_samples
    irlbl: np.ndarray  # imbalance ratio per label (0 for a label without positives)
    scumble_label: np.ndarray  # SCUMBLE per label (NaN without positives)
    n_samples: int
    mean_ir: float
    max_ir: float
    cvir: float
    scumble: float

    @property
    def minority_labels(self) -> np.ndarray:
        """Indices of the labels whose IRLbl exceeds MeanIR (MLSMOTE's minority labels)."""
        return np.flatnonzero(self.irlbl > self.mean_ir)

    def to_frame(self):
        """Per-label measures as a pandas DataFrame indexed by label name."""
        import pandas as pd

        return pd.DataFrame(
            {
                "count": self.count,
                "prevalence": self.prevalence,
                "IRLbl": self.irlbl,
                "SCUMBLE": self.scumble_label,
                "minority": self.irlbl > self.mean_ir,
            },
            index=pd.Index(self.label_names, name="label"),
        )

    def __str__(self) -> str:
        width = max(5, *(len(str(n)) for n in self.label_names))
        lines = [
            f"{self.n_samples:,} samples, {len(self.label_names)} labels: MeanIR "
            f"{self.mean_ir:.4g}, MaxIR {self.max_ir:.4g}, CVIR {self.cvir:.4g}, "
            f"SCUMBLE {self.scumble:.4g}",
            f"{'label':<{width}} {'count':>10} {'prevalence':>10} {'IRLbl':>10} {'SCUMBLE':>10}",
        ]
        for name, c, p, ir, sc in zip(
            self.label_names, self.count, self.prevalence, self.irlbl, self.scumble_label,
            strict=True,
        ):
            mark = " *" if ir > self.mean_ir else ""
            lines.append(f"{name!s:<{width}} {c:>10,} {p:>10.4g} {ir:>10.4g} {sc:>10.4g}{mark}")
        lines.append("* minority label (IRLbl > MeanIR)")
        return "\n".join(lines)


def imbalance_report(Y, label_names=None) -> ImbalanceReport:
    """Per-label and overall imbalance measures of a multi-label data set, in one pass.

    Parameters
    ----------
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 (or boolean) label indicator matrix; a DataFrame's columns name the labels.
    label_names : sequence of length n_labels, optional
        Label names (default: the DataFrame's columns, else 0 .. n_labels - 1).

    Returns
    -------
    ImbalanceReport
        ``count``, ``prevalence``, ``irlbl``, ``scumble_label`` per label; ``mean_ir``,
        ``max_ir``, ``cvir``, ``scumble`` overall; ``minority_labels``; ``to_frame()``.
        Conventions (mldr's): a label without positives has IRLbl 0 (counted in MeanIR) and
        SCUMBLE NaN.

    Examples
    --------
    >>> from fastml.resample import imbalance_report
    >>> r = imbalance_report([[1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0]], ["a", "b", "c"])
    >>> r.count.tolist(), r.irlbl.tolist(), r.mean_ir
    ([3, 2, 0], [1.0, 1.5, 0.0], 0.8333333333333334)
    >>> r.minority_labels.tolist()
    [0, 1]
    """
    if is_cupy(Y):  # counted on the device; the report's per-label arrays are on the host
        y8, lab_names = _measure_labels(Y)[0], None
    else:
        lab = _label_matrix(Y)
        y8, lab_names = lab.y, lab.names
    n, n_labels = y8.shape
    names = lab_names if label_names is None else list(label_names)
    if names is None:
        names = list(range(n_labels))
    if len(names) != n_labels:
        raise ValueError(f"label_names has {len(names)} names for {n_labels} labels")
    counts, ir, total, label = _scumble_all(y8)
    return ImbalanceReport(
        label_names=names,
        count=counts,
        prevalence=counts / n,
        irlbl=ir,
        scumble_label=label,
        n_samples=n,
        mean_ir=float(ir.mean()),
        max_ir=float(ir.max()),
        cvir=_cvir(ir),
        scumble=total,
    )


# ------------------------------------------------------------------------------ MLSMOTE


@dataclass
class _Features:
    x: np.ndarray  # float32/float64 (n, d), C-contiguous: numbers, categories as codes
    categorical: np.ndarray  # bool (d,)
    columns: list  # per column: None (numeric) or the values of the codes (categorical)
    frame: bool  # X is a DataFrame
    dtypes: list  # per column: the input column's dtype


def _codes(values: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` of a categorical column, ``uniques[codes] == values``.

    The codes follow the values' order where the values compare (so that the kernel's
    tie rule, the smallest code, is the smallest value), else the order of first
    appearance down the column."""
    try:
        uniques, codes = np.unique(values, return_inverse=True)
        return codes.reshape(-1), uniques
    except TypeError:  # values that do not compare (mixed types): first seen
        pass
    seen: dict = {}
    try:
        codes = np.fromiter(
            (seen.setdefault(v, len(seen)) for v in values.tolist()), np.int64, len(values)
        )
    except TypeError as exc:
        raise TypeError(f"categorical feature {name} holds unhashable values: {exc}") from None
    uniques = np.empty(len(seen), dtype=object)
    uniques[:] = list(seen)
    return codes, uniques


def _feature_matrix(X, n: int, categorical_features) -> _Features:
    """Validate MLSMOTE's features: numeric columns (interpolated) and the categorical
    columns listed in ``categorical_features`` (voted; any type), as one float matrix for
    the kernels with each category replaced by its code."""
    if X is None:
        raise ValueError("X is required: the (n_samples, n_features) feature matrix.")
    if _is_sparse(X):
        raise TypeError(
            "MLSMOTE needs dense numeric features; got a sparse matrix (use X.toarray())."
        )
    frame = hasattr(X, "columns") and hasattr(X, "iloc") and getattr(X, "ndim", 0) == 2
    if frame:
        cols = [plain_array(X.iloc[:, j], "X") for j in range(X.shape[1])]
        shape = (X.shape[0], X.shape[1])
        dtypes = list(X.dtypes)
    else:
        a = plain_array(X, "X")
        if a.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {a.shape}")
        cols = [a[:, j] for j in range(a.shape[1])]
        shape = a.shape
        dtypes = [a.dtype] * a.shape[1]
    if shape[0] != n:
        raise ValueError(f"X has {shape[0]} rows but Y has {n}: they must match.")
    d = shape[1]
    if d == 0:
        raise ValueError("X has no features.")
    cat = _categorical_mask(categorical_features, X, d)
    all_float32 = True
    for j in np.flatnonzero(~cat):
        c = cols[j]
        if c.dtype.kind not in "biuf":
            if c.dtype.kind == "O":
                try:
                    c = c.astype(np.float64)
                except (TypeError, ValueError):
                    c = None
            if c is None or c.dtype.kind not in "biuf":
                label = f"column {X.columns[j]!r}" if frame else f"column {j}"
                raise TypeError(
                    f"MLSMOTE interpolates numeric features; {label} has dtype "
                    f"{cols[j].dtype}: list it in categorical_features (its values are "
                    "then voted among the neighbours) or encode it as numbers"
                )
            cols[j] = c
        if cols[j].dtype.kind == "f" and not _all_finite(cols[j]):
            raise ValueError("X contains NaN or infinity.")
        all_float32 &= cols[j].dtype == np.float32
    uniques: list = [None] * d
    for j in np.flatnonzero(cat):
        label = repr(X.columns[j]) if frame else str(j)
        codes, uniques[j] = _codes(cols[j], label)
        cols[j] = codes
        all_float32 &= len(uniques[j]) <= 2**24  # codes exact in float32
    dtype = np.float32 if all_float32 and (~cat).any() else np.float64
    x = np.empty((n, d), dtype)
    for j in range(d):
        x[:, j] = cols[j]
    return _Features(x, cat, uniques, frame, dtypes)


def _synthetic_features(X, feats: _Features, out_x: np.ndarray, n: int):
    """MLSMOTE's X output: the input rows then the synthetic ones, in the input's form.

    Categorical columns take their values back from the codes, in the column's dtype;
    numeric columns are floats (float32 where every numeric column is float32). A
    DataFrame keeps its columns and its rows' index (synthetic rows get fresh labels after
    it, see :func:`_extended_index`); an array stays an array (float, or object when a
    categorical column is not numeric)."""
    d = out_x.shape[1]
    n_new = out_x.shape[0] - n

    def values(j):
        if feats.columns[j] is None:
            return out_x[:, j]
        return feats.columns[j][out_x[:, j].astype(np.int64)]

    if feats.frame:
        import pandas as pd

        data = {}
        for j in range(d):
            v = values(j)
            if feats.columns[j] is not None:
                new = pd.array(v[n:], dtype=feats.dtypes[j]) if n_new else None
                v = X.iloc[:, j].array
                if new is not None:
                    v = type(v)._concat_same_type([v, new])
            data[j] = v
        out = pd.DataFrame(data, index=_extended_index(X.index, None, n_new))
        out.columns = X.columns
        return out
    if all(feats.columns[j] is None or feats.columns[j].dtype.kind in "biuf" for j in range(d)):
        out = out_x.copy() if any(c is not None for c in feats.columns) else out_x
        for j in np.flatnonzero(feats.categorical):
            out[:, j] = values(j)
        return out
    out = np.empty(out_x.shape, dtype=object)
    for j in range(d):
        out[:, j] = values(j)
    return out


def _categorical_mask(categorical_features, X, d: int) -> np.ndarray:
    mask = np.zeros(d, bool)
    if categorical_features is None:
        return mask
    cats = np.asarray(categorical_features)
    if cats.ndim != 1:
        raise ValueError("categorical_features must be a 1-D list of columns or a mask")
    if cats.dtype == np.bool_:
        if cats.shape[0] != d:
            raise ValueError(
                f"categorical_features mask has {cats.shape[0]} entries for {d} features"
            )
        return cats.copy()
    if cats.dtype.kind in "iu":
        if cats.size and (cats.min() < -d or cats.max() >= d):
            raise ValueError(f"categorical_features has a column index outside [0, {d})")
        mask[cats] = True
        return mask
    columns = getattr(X, "columns", None)
    if columns is None:
        raise ValueError(
            "categorical_features given by name needs X to be a DataFrame; use column indices"
        )
    position = {c: i for i, c in enumerate(columns)}
    for c in cats.tolist():
        if c not in position:
            raise ValueError(f"categorical feature {c!r} is not a column of X")
        mask[position[c]] = True
    return mask


def _plain_features(X, n: int, categorical_features) -> np.ndarray | None:
    """``X`` itself when MLSMOTE can use it as it is: a C-contiguous float32 / float64
    ndarray in native byte order with ``n`` rows, some columns and no categorical one.
    Its values are not checked here (the caller checks them while copying them into the
    output). None otherwise (then :func:`_feature_matrix` validates and converts)."""
    if (
        type(X) is np.ndarray
        and categorical_features is None
        and X.ndim == 2
        and X.shape[0] == n
        and X.shape[1] > 0
        and X.dtype in (np.float32, np.float64)
        and X.dtype.isnative
        and X.flags.c_contiguous
    ):
        return X
    return None


@dataclass
class _Synthesis:
    x: object
    y: object
    irlbl: np.ndarray
    mean_ir: float
    minority: np.ndarray
    seeds: np.ndarray
    chosen: np.ndarray
    neighbors: np.ndarray
    labels: np.ndarray


def _mlsmote(
    X, Y, k_neighbors, label_strategy, gap, sampling_factor, max_samples,
    categorical_features, random_state, counts=None,
) -> _Synthesis:
    """MLSMOTE on ``(X, Y)``. ``counts``: the label counts of a larger data set whose rows
    with a minority label are exactly these (the Dask back end runs on those rows only)."""
    if is_dask(X) or is_dask(Y):
        from fastml._dask.resample import mlsmote as dask_mlsmote

        return dask_mlsmote(
            _mlsmote, X, Y, k_neighbors, label_strategy, gap, sampling_factor, max_samples,
            categorical_features, random_state,
        )
    k = _positive_int(k_neighbors, "k_neighbors")
    if not (isinstance(label_strategy, str) and label_strategy in _STRATEGIES):
        raise ValueError(f"label_strategy must be one of {_STRATEGIES}; got {label_strategy!r}")
    if not (isinstance(gap, str) and gap in _GAPS):
        raise ValueError(f"gap must be one of {_GAPS}; got {gap!r}")
    factor = _ratio(sampling_factor, "sampling_factor")
    if max_samples is not None:
        max_samples = _positive_int(max_samples, "max_samples", minimum=0)
    lab = _label_matrix(Y)
    n = lab.y.shape[0]
    plain = _plain_features(X, n, categorical_features)
    if plain is None:
        feats = _feature_matrix(X, n, categorical_features)
        x = feats.x
        cat = feats.categorical
        numeric = np.flatnonzero(~cat)
        categorical = np.flatnonzero(cat)
        if numeric.size == 0:
            raise ValueError("MLSMOTE needs at least one numeric (non-categorical) feature.")
        rng = random_generator(random_state)
    else:  # checked for NaN / infinity while copied into the output, below
        feats = None
        x = plain
        numeric = np.arange(x.shape[1], dtype=np.int64)
        categorical = np.empty(0, np.int64)
    d = x.shape[1]
    kern = _k()

    if counts is None:
        counts = kern.label_counts(lab.y)
    ir = _irlbl_from_counts(counts)
    mir = float(ir.mean())
    minority = np.flatnonzero(ir > mir)
    bag_ptr, bag_rows = kern.bags(lab.y, minority)
    # A bag with one row has no neighbour to interpolate with: its seed makes nothing.
    sizes = np.diff(bag_ptr)
    kept = sizes >= 2
    if not kept.all():
        keep_rows = np.repeat(kept, sizes)
        bag_rows = bag_rows[keep_rows]
        bag_labels = minority[kept]
        bag_ptr = np.concatenate([[0], np.cumsum(sizes[kept])]).astype(np.int64)
    else:
        bag_labels = minority
    n_pairs = bag_rows.shape[0]
    n_syn = int(round(factor * n_pairs))
    if max_samples is not None:
        n_syn = min(n_syn, max_samples)

    out_dtype = np.float32 if x.dtype == np.float32 else np.float64
    out_x = np.empty((n + n_syn, d), out_dtype)
    if feats is not None:
        out_x[:n] = x
    else:  # one pass: the input rows are copied and checked
        if not kern.copy_finite(x, out_x):
            raise ValueError("X contains NaN or infinity.")
        rng = random_generator(random_state)
    syn_y = np.empty((n_syn, lab.y.shape[1]), np.uint8)
    width = max(k, 1)
    if n_syn == 0:
        seeds = chosen = labels = np.empty(0, np.int64)
        nbrs = np.empty((0, width), np.int64)
    else:
        if categorical.size == 0:
            pts = kern.gather(x, bag_rows)
        else:
            pts = np.ascontiguousarray(x[np.ix_(bag_rows, numeric)], dtype=np.float64)
        nbr_col, _, n_nbrs = kern.bag_knn(pts, bag_ptr, k, get_num_threads())
        del pts
        # Pair p (bag member p) makes base or base + 1 rows; the extra ones go to a random
        # subset of pairs. Rows are ordered by label, seed row, repetition.
        base, extra = divmod(n_syn, n_pairs)
        reps = np.full(n_pairs, base, np.int64)
        if extra:
            reps[np.sort(rng.choice(n_pairs, size=extra, replace=False))] += 1
        pair = np.repeat(np.arange(n_pairs), reps)
        seeds = bag_rows[pair]
        nbrs = np.where(nbr_col[pair] >= 0, bag_rows[np.maximum(nbr_col[pair], 0)], -1)
        m = n_nbrs[pair]
        pick = np.minimum((rng.random(n_syn) * m).astype(np.int64), m - 1)
        chosen = nbrs[np.arange(n_syn), pick]
        labels = np.repeat(np.repeat(bag_labels, np.diff(bag_ptr)), reps)
        kern.synthesize(
            x, lab.y, seeds, nbrs, m, chosen, numeric, categorical,
            _STRATEGIES.index(label_strategy), gap == "feature", _key(rng),
            out_x[n:], syn_y,
        )
    return _Synthesis(
        out_x if feats is None else _synthetic_features(X, feats, out_x, n),
        _restore_labels(lab, _stacked_labels(lab, syn_y), None, n_syn),
        ir, mir, minority, seeds, chosen, nbrs, labels,
    )


_MLSMOTE_PARAMS = """
    k_neighbors : int, default=5
        Neighbours of each seed, searched among the rows having the same minority label
        (exact Euclidean distance over the numeric features; the seed itself excluded;
        ties go to the lower row index). A label with ``m <= k_neighbors`` rows uses its
        ``m - 1`` other rows; a label with one row makes no synthetic row.
    label_strategy : {"ranking", "union", "intersection"}, default="ranking"
        Label set of a synthetic row, over the seed and its neighbours: "ranking" keeps a
        label present in more than half of them (the paper's rule); "union" any label
        present in one of them; "intersection" labels present in all of them.
    gap : {"feature", "sample"}, default="feature"
        "feature": an independent uniform gap in [0, 1) for every feature, as in the paper's
        pseudocode (the new row lies in the box spanned by seed and neighbour);
        "sample": one gap per row, as SMOTE (the new row lies on the segment between them).
    sampling_factor : float, default=1.0
        Synthetic rows per (minority label, seed) pair: 1 is the paper (one each);
        2 makes two each; 0.5 makes one for a random half of the pairs. In general
        ``round(sampling_factor * n_pairs)`` rows, spread as evenly as possible over the
        pairs (the remainder to a random subset).
    max_samples : int, optional
        Cap on the number of synthetic rows (applied after ``sampling_factor``).
    categorical_features : array-like, optional
        Columns holding categories (indices, a boolean mask, or DataFrame column names), of
        any type: numbers, strings, booleans, pandas categoricals. They are left out of the
        distance and take, in a synthetic row, the most frequent value among the seed's
        neighbours (ties: the smallest value where the column's values compare, else the
        one seen first down the column), and keep their dtype in a DataFrame. The other
        (numeric) columns are interpolated, so they come back as floats.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the random choices (neighbour, gaps, remainder pairs).
"""


def mlsmote(
    X,
    Y,
    *,
    k_neighbors: int = 5,
    label_strategy: Literal["ranking", "union", "intersection"] = "ranking",
    gap: Literal["feature", "sample"] = "feature",
    sampling_factor: float = 1.0,
    max_samples: int | None = None,
    categorical_features=None,
    random_state=None,
) -> tuple:
    """MLSMOTE (Charte, Rivera, del Jesus & Herrera, 2015): synthetic rows for minority labels.

    The minority labels are those whose IRLbl exceeds MeanIR, computed once on the input.
    For each of them (in label order), every row having the label is a seed (in row order);
    its nearest neighbours are searched among the rows having that label; one of them is
    picked at random, and a synthetic row interpolates the numeric features between the seed
    and that neighbour, with labels voted by the seed and all its neighbours.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Numeric features (float32 stays float32; other types become float64), no NaN;
        columns listed in ``categorical_features`` may hold any values.
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 label indicator matrix.
    {params}
    Returns
    -------
    X_resampled : ndarray or DataFrame of shape (n_samples + n_new, n_features)
        The original rows, then the synthetic ones. An array comes back as floats (as
        objects when a categorical column is not numeric).
    Y_resampled : ndarray, DataFrame or sparse matrix of shape (n_samples + n_new, n_labels)
        Same type and dtype as ``Y`` (in native byte order).

    A DataFrame (``X`` or ``Y``) keeps the index of its original rows; the synthetic rows
    get fresh labels after it: ``max + 1, max + 2, ...`` for an integer index, the
    positions ``n_samples, n_samples + 1, ...`` for any other.

    See Also
    --------
    MLSMOTE : the same as an imbalanced-learn style sampler, with fitted attributes telling
        each synthetic row's seed, neighbours and label.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.resample import mlsmote
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))
    >>> Y = (rng.random((200, 3)) < [0.5, 0.2, 0.05]).astype(int)
    >>> X_res, Y_res = mlsmote(X, Y, k_neighbors=3, random_state=0)
    >>> bool(X_res.shape[0] - 200 == Y[:, 2].sum())  # label 2 alone is a minority label
    True
    >>> bool((X_res[:200] == X).all())
    True
    """
    s = _mlsmote(
        X, Y, k_neighbors, label_strategy, gap, sampling_factor, max_samples,
        categorical_features, random_state,
    )
    return s.x, s.y


mlsmote.__doc__ = mlsmote.__doc__.replace("    {params}\n", _MLSMOTE_PARAMS.lstrip("\n"))


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


class MLSMOTE(_Sampler):
    """MLSMOTE (Charte, Rivera, del Jesus & Herrera, 2015) with ``fit_resample(X, Y)``.

    See :func:`mlsmote` for the algorithm. The sampler follows imbalanced-learn's contract:
    ``fit_resample`` returns the original rows followed by the synthetic ones.

    Parameters
    ----------
    {params}
    Attributes
    ----------
    irlbl_ : ndarray of shape (n_labels,)
        IRLbl of the input's labels.
    mean_ir_ : float
        MeanIR of the input.
    minority_labels_ : ndarray
        Labels with IRLbl > MeanIR.
    seed_indices_ : ndarray of shape (n_new,)
        Input row each synthetic row was made from.
    neighbor_indices_ : ndarray of shape (n_new,)
        The neighbour it was interpolated towards.
    neighbors_ : ndarray of shape (n_new, k_neighbors)
        All neighbours of its seed (nearest first; -1 pads bags smaller than k + 1).
    source_labels_ : ndarray of shape (n_new,)
        The minority label whose rows it was made from.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.resample import MLSMOTE, imbalance_report
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 5))
    >>> Y = (rng.random((500, 4)) < [0.5, 0.3, 0.05, 0.02]).astype(int)
    >>> sampler = MLSMOTE(k_neighbors=5, random_state=0)
    >>> X_res, Y_res = sampler.fit_resample(X, Y)
    >>> sampler.minority_labels_.tolist()
    [2, 3]
    >>> imbalance_report(Y_res).mean_ir < imbalance_report(Y).mean_ir
    True
    """

    _parameters = (
        "k_neighbors", "label_strategy", "gap", "sampling_factor", "max_samples",
        "categorical_features", "random_state",
    )

    def __init__(
        self,
        k_neighbors: int = 5,
        label_strategy: Literal["ranking", "union", "intersection"] = "ranking",
        random_state=None,
        *,
        gap: Literal["feature", "sample"] = "feature",
        sampling_factor: float = 1.0,
        max_samples: int | None = None,
        categorical_features=None,
    ):
        self.k_neighbors = k_neighbors
        self.label_strategy = label_strategy
        self.random_state = random_state
        self.gap = gap
        self.sampling_factor = sampling_factor
        self.max_samples = max_samples
        self.categorical_features = categorical_features

    def fit_resample(self, X, Y):
        """Return ``(X_resampled, Y_resampled)``: the input rows, then the synthetic rows."""
        s = _mlsmote(
            X, Y, self.k_neighbors, self.label_strategy, self.gap, self.sampling_factor,
            self.max_samples, self.categorical_features, self.random_state,
        )
        self._fitted_input(X)
        self.irlbl_ = s.irlbl
        self.mean_ir_ = s.mean_ir
        self.minority_labels_ = s.minority
        self.seed_indices_ = s.seeds
        self.neighbor_indices_ = s.chosen
        self.neighbors_ = s.neighbors
        self.source_labels_ = s.labels
        return s.x, s.y


MLSMOTE.__doc__ = MLSMOTE.__doc__.replace("    {params}\n", _MLSMOTE_PARAMS.lstrip("\n"))


# ------------------------------------------------------------------------- ML-ROS / ML-RUS


def _clones(kern, row_ptr, row_lab, counts, bag_ptr, bag_rows, chosen, mir, quota, key, n):
    """ML-ROS clones with a buffer sized by the clones made, not by the budget ``quota``.

    The kernel fills a buffer of its ``quota`` argument, and its draws depend only on the key
    and the clone's position, so a smaller budget gives a prefix of the same clones. A run
    that stops before its budget is full has made every clone the full budget would: only a
    run that fills its budget is repeated with a larger one.
    """
    budget = min(quota, max(n, _FIRST_BUDGET))
    while True:
        clones = kern.mlros(
            row_ptr, row_lab, counts.copy(), bag_ptr, bag_rows, chosen, mir, budget, key
        )
        if clones.shape[0] < budget or budget == quota:
            return clones
        budget = min(quota, 4 * budget)


def _random_resample(X, Y, sampling_ratio, random_state, over: bool):
    if over:
        ratio = _ratio(
            sampling_ratio, "sampling_ratio", _MAX_CLONE_RATIO,
            " (a budget: cloning stops by itself once every minority label reaches MeanIR)",
        )
    else:
        ratio = _ratio(sampling_ratio, "sampling_ratio", 1.0)
    lab = _label_matrix(Y)
    n = lab.y.shape[0]
    _check_rows(X, n)
    rng = random_generator(random_state)
    kern = _k()
    counts = kern.label_counts(lab.y)
    ir = _irlbl_from_counts(counts)
    mir = float(ir.mean())
    chosen = np.flatnonzero(ir > mir) if over else np.flatnonzero((ir < mir) & (counts > 0))
    bag_ptr, bag_rows = kern.bags(lab.y, chosen)
    row_ptr, row_lab = kernels("labels").row_csr(lab.y)
    quota = int(round(ratio * n))
    key = _key(rng)
    if over:
        clones = _clones(
            kern, row_ptr, row_lab, counts, bag_ptr, bag_rows, chosen, mir, quota, key, n
        )
        index = np.concatenate([np.arange(n), clones])
        n_new = clones.shape[0]
    else:
        alive = kern.mlrus(
            row_ptr, row_lab, counts.copy(), bag_ptr, bag_rows.copy(), chosen, mir, quota,
            key, n,
        )
        index = np.flatnonzero(alive)
        n_new = 0
    y_out = _restore_labels(lab, lab.y[index], index[: index.shape[0] - n_new], n_new)
    if is_dask(X) or is_dask(Y):  # labels were gathered; features never are
        from fastml._dask import like, take_rows

        x_out = take_rows(X, index, n_new) if is_dask(X) else _take_rows(X, index, n_new)
        return x_out, like(y_out, Y), index, ir, mir, chosen
    return _take_rows(X, index, n_new), y_out, index, ir, mir, chosen


_RANDOM_PARAMS = """
    sampling_ratio : float, default=0.25
        Most rows to {verb}, as a fraction of the input's rows (the paper's P / 100);
        {range}
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the random row choices.
"""


_ROS_RANGE = """in [0, 10]. A budget, not a target: cloning stops earlier once every
        minority label's IRLbl is at most MeanIR. Where cloning cannot get there (the clones
        also raise the most frequent label's count, or labels without positives put MeanIR
        below 1), the whole budget is used."""
_RUS_RANGE = """in [0, 1]. Deleting stops earlier once every majority label's IRLbl is
        at least MeanIR."""
_ROS_PARAMS = (
    _RANDOM_PARAMS.lstrip("\n").replace("{verb}", "clone")
    .replace("{range}", _ROS_RANGE)
)
_RUS_PARAMS = (
    _RANDOM_PARAMS.lstrip("\n").replace("{verb}", "delete")
    .replace("{range}", _RUS_RANGE)
)


def mlros(X, Y, *, sampling_ratio: float = 0.25, random_state=None) -> tuple:
    """ML-ROS (Charte et al., 2015): clone random rows of the minority labels.

    The minority labels (IRLbl > MeanIR, MeanIR computed once on the input) are visited in
    turn; each turn clones a random row having the label. A label leaves the rotation once
    its IRLbl, updated with every clone, is at most MeanIR. Stops after
    ``round(sampling_ratio * n_samples)`` clones or when no minority label is left.

    Parameters
    ----------
    X : array-like, DataFrame or sparse matrix with n_samples rows
        Features, of any dtype (rows are copied, not computed).
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 label indicator matrix.
    {params}
    Returns
    -------
    X_resampled, Y_resampled
        The original rows followed by the clones, in the input's types. A pandas object
        keeps the index of the original rows; the clones get fresh labels after it:
        ``max + 1, max + 2, ...`` for an integer index, the positions ``n_samples,
        n_samples + 1, ...`` for any other.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.resample import mlros, mean_ir
    >>> rng = np.random.default_rng(0)
    >>> Y = (rng.random((1000, 3)) < [0.5, 0.1, 0.02]).astype(int)
    >>> X = np.arange(1000).reshape(-1, 1)
    >>> X_res, Y_res = mlros(X, Y, sampling_ratio=0.1, random_state=0)
    >>> X_res.shape  # 33 clones, not 100: every minority label reached MeanIR before
    (1033, 1)
    >>> mean_ir(Y_res) < mean_ir(Y)
    True
    """
    return _random_resample(X, Y, sampling_ratio, random_state, True)[:2]


def mlrus(X, Y, *, sampling_ratio: float = 0.25, random_state=None) -> tuple:
    """ML-RUS (Charte et al., 2015): delete random rows of the majority labels.

    The majority labels (IRLbl < MeanIR, MeanIR computed once on the input) are visited in
    turn; each turn deletes a random remaining row having the label. A label leaves the
    rotation once its IRLbl, updated with every deletion, is at least MeanIR. Stops after
    ``round(sampling_ratio * n_samples)`` deletions or when no majority label is left.

    Parameters
    ----------
    X : array-like, DataFrame or sparse matrix with n_samples rows
        Features, of any dtype.
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 label indicator matrix.
    {params}
    Returns
    -------
    X_resampled, Y_resampled
        The rows kept, in their original order, in the input's types (a pandas object
        keeps their index labels).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.resample import mlrus
    >>> rng = np.random.default_rng(0)
    >>> Y = (rng.random((1000, 3)) < [0.5, 0.1, 0.02]).astype(int)
    >>> X = np.arange(1000).reshape(-1, 1)
    >>> X_res, Y_res = mlrus(X, Y, sampling_ratio=0.1, random_state=0)
    >>> X_res.shape
    (900, 1)
    """
    return _random_resample(X, Y, sampling_ratio, random_state, False)[:2]


mlros.__doc__ = mlros.__doc__.replace("    {params}\n", _ROS_PARAMS)
mlrus.__doc__ = mlrus.__doc__.replace("    {params}\n", _RUS_PARAMS)


class MLROS(_Sampler):
    """ML-ROS random over-sampling with ``fit_resample(X, Y)``; see :func:`mlros`.

    Parameters
    ----------
    {params}
    Attributes
    ----------
    sample_indices_ : ndarray
        Input row of every output row (``arange(n_samples)`` then the cloned rows).
    irlbl_, mean_ir_ : IRLbl and MeanIR of the input.
    minority_labels_ : ndarray
        Labels with IRLbl > MeanIR (the bags cloned from).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.resample import MLROS
    >>> Y = np.array([[1, 0]] * 8 + [[1, 1]] * 2)
    >>> X_res, Y_res = MLROS(sampling_ratio=0.2, random_state=0).fit_resample(
    ...     np.arange(10).reshape(-1, 1), Y)
    >>> X_res.ravel().tolist()[10:]  # two clones of rows having label 1
    [8, 9]
    """

    _parameters = ("sampling_ratio", "random_state")

    def __init__(self, sampling_ratio: float = 0.25, random_state=None):
        self.sampling_ratio = sampling_ratio
        self.random_state = random_state

    def fit_resample(self, X, Y):
        """Return ``(X_resampled, Y_resampled)``: the input rows, then the clones."""
        x, y, index, ir, mir, chosen = _random_resample(
            X, Y, self.sampling_ratio, self.random_state, True
        )
        self._fitted_input(X)
        self.sample_indices_, self.irlbl_, self.mean_ir_ = index, ir, mir
        self.minority_labels_ = chosen
        return x, y


class MLRUS(_Sampler):
    """ML-RUS random under-sampling with ``fit_resample(X, Y)``; see :func:`mlrus`.

    Parameters
    ----------
    {params}
    Attributes
    ----------
    sample_indices_ : ndarray
        Input rows kept, ascending.
    irlbl_, mean_ir_ : IRLbl and MeanIR of the input.
    majority_labels_ : ndarray
        Labels with 0 < IRLbl < MeanIR (the bags deleted from).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.resample import MLRUS
    >>> Y = np.array([[1, 0]] * 8 + [[1, 1]] * 2)
    >>> sampler = MLRUS(sampling_ratio=0.3, random_state=0)
    >>> X_res, Y_res = sampler.fit_resample(np.arange(10).reshape(-1, 1), Y)
    >>> len(X_res), sampler.majority_labels_.tolist()
    (7, [0])
    """

    _parameters = ("sampling_ratio", "random_state")

    def __init__(self, sampling_ratio: float = 0.25, random_state=None):
        self.sampling_ratio = sampling_ratio
        self.random_state = random_state

    def fit_resample(self, X, Y):
        """Return ``(X_resampled, Y_resampled)``: the rows kept, in input order."""
        x, y, index, ir, mir, chosen = _random_resample(
            X, Y, self.sampling_ratio, self.random_state, False
        )
        self._fitted_input(X)
        self.sample_indices_, self.irlbl_, self.mean_ir_ = index, ir, mir
        self.majority_labels_ = chosen
        return x, y


MLROS.__doc__ = MLROS.__doc__.replace("    {params}\n", _ROS_PARAMS)
MLRUS.__doc__ = MLRUS.__doc__.replace("    {params}\n", _RUS_PARAMS)


# Internal-public names (not in ``__all__``), for fastml's own modules such as ``fastml.plot``:
label_matrix = _label_matrix  # validated 0/1 label matrix (uint8) with its names
label_counts = _counts  # positives per label
irlbl_from_counts = _irlbl_from_counts  # IRLbl per label from the counts
