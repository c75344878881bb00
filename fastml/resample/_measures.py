"""Imbalance measures of a multi-label data set (IRLbl, MeanIR, MaxIR, CVIR, SCUMBLE), as
the mldr R package computes them, from the label counts and the rows' labels (compiled
kernels; CuPy labels are counted on the device)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fastml._backend import is_cupy
from fastml._validation import label_matrix
from fastml.resample._base import _k


def _measure_labels(Y):
    """(uint8 labels, device namespace or None): device labels stay on the device for the
    imbalance measures (GPU kernels); everything else goes through
    :func:`~fastml._validation.label_matrix`."""
    if not is_cupy(Y):
        return label_matrix(Y).y, None
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
    if Y.dtype == np.float16:  # 0/1 labels in any float, as on the CPU (widened: exact)
        Y = Y.astype(np.float32)
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
        lab = label_matrix(Y)
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


# Internal-public names (not in ``__all__``), for fastml's own modules such as ``fastml.plot``:
label_counts = _counts  # positives per label
irlbl_from_counts = _irlbl_from_counts  # IRLbl per label from the counts
