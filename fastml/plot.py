"""Pictures of multi-label imbalance (matplotlib, an optional dependency).

- :func:`plot_label_frequency`: positives per label, the first chart of an imbalanced
  multi-label data set.
- :func:`plot_label_balance`: per label, the share of the loss weight carried by the
  positives and by the negatives, before and after weighting with
  :func:`fastml.losses.label_weights`.
- :func:`plot_irlbl`: IRLbl per label (and MeanIR) before and after resampling.

Each draws bar charts whose bar heights are exactly the numbers described (tests read them
back), on axes you pass or on a new figure. Install matplotlib with
``pip install "fastml-multilabel[plot]"``; without it the functions raise ImportError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from fastml.resample import irlbl_from_counts, label_counts, label_matrix

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_irlbl", "plot_label_balance", "plot_label_frequency"]

_POSITIVE, _NEGATIVE = "tab:orange", "tab:blue"
_BEFORE, _AFTER = "tab:gray", "tab:green"


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "fastml.plot needs matplotlib: pip install 'fastml-multilabel[plot]' "
            "(or pip install matplotlib)"
        ) from exc
    return plt


def _names(lab, label_names, n_labels: int) -> list:
    names = lab.names if label_names is None else list(label_names)
    if names is None:
        names = list(range(n_labels))
    if len(names) != n_labels:
        raise ValueError(f"label_names has {len(names)} names for {n_labels} labels")
    return [str(n) for n in names]


def _axes(ax, n_labels: int):
    if ax is not None:
        return ax
    plt = _pyplot()
    _, ax = plt.subplots(figsize=(max(6.0, 0.35 * n_labels + 2.0), 4.0))
    return ax


def _label_axis(ax, names: Sequence[str]) -> None:
    ax.set_xticks(np.arange(len(names)))
    rotation = 90 if len(names) > 10 or max(map(len, names)) > 6 else 0
    ax.set_xticklabels(names, rotation=rotation)
    ax.set_xlim(-0.6, len(names) - 0.4)


def plot_label_frequency(
    Y, label_names=None, *, normalize: bool = False, sort: bool = False, log: bool = False,
    ax=None,
) -> Axes:
    """Bar chart of the positives of each label.

    Parameters
    ----------
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 label indicator matrix (a DataFrame's columns name the labels).
    label_names : sequence of str, optional
        Names for the x axis.
    normalize : bool, default=False
        Plot prevalence (positives / n_samples) instead of counts.
    sort : bool, default=False
        Order labels from most to least frequent.
    log : bool, default=False
        Logarithmic y axis (rare labels stay visible).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        Its first bar container holds one bar per label, heights the counts (or
        prevalences).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from fastml.plot import plot_label_frequency
    >>> ax = plot_label_frequency([[1, 0], [1, 1], [1, 0]], ["common", "rare"])
    >>> ax.containers[0].datavalues.tolist()
    [3.0, 1.0]
    """
    _pyplot()  # fail early without matplotlib
    lab = label_matrix(Y)
    n, n_labels = lab.y.shape
    names = _names(lab, label_names, n_labels)
    values = label_counts(lab.y).astype(np.float64)
    if normalize:
        values = values / n
    order = np.argsort(-values, kind="stable") if sort else np.arange(n_labels)
    ax = _axes(ax, n_labels)
    ax.bar(np.arange(n_labels), values[order], color=_POSITIVE)
    _label_axis(ax, [names[i] for i in order])
    ax.set_ylabel("prevalence" if normalize else "positives")
    ax.set_title(f"Label frequency ({n:,} samples)")
    if log:
        ax.set_yscale("log")
    return ax


def plot_label_balance(
    Y, weights="frequency", label_names=None, *, axes=None
) -> tuple[Axes, Axes]:
    """Positive vs negative share of each label's loss weight, before and after weighting.

    Before weighting every sample counts 1, so the shares are the prevalence and its
    complement. After weighting with ``(w_pos, w_neg)`` per label the positive share is
    ``w_pos n_pos / (w_pos n_pos + w_neg n_neg)``: 0.5 for every label with the frequency,
    balanced or pos_weight weights of :func:`fastml.losses.label_weights` (labels without
    positives or negatives keep neutral weights there).

    Parameters
    ----------
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 label indicator matrix.
    weights : {"frequency", "balanced", "pos_weight"} or (w_pos, w_neg), default="frequency"
        A ``label_weights`` method, or per-label weight arrays.
    label_names : sequence of str, optional
        Names for the x axis.
    axes : pair of matplotlib Axes, optional
        Where to draw (before, after); a new figure with two panels when None.

    Returns
    -------
    tuple of two matplotlib Axes
        Each with two bar containers, positives then negatives (heights: shares in [0, 1]).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from fastml.plot import plot_label_balance
    >>> Y = [[1, 0], [0, 0], [0, 0], [0, 1]]
    >>> before, after = plot_label_balance(Y, weights=([0.75, 0.75], [0.25, 0.25]))
    >>> before.containers[0].datavalues.tolist()  # prevalence
    [0.25, 0.25]
    >>> after.containers[0].datavalues.tolist()
    [0.5, 0.5]
    """
    _pyplot()
    lab = label_matrix(Y)
    n, n_labels = lab.y.shape
    names = _names(lab, label_names, n_labels)
    pos = label_counts(lab.y).astype(np.float64)
    neg = n - pos
    if isinstance(weights, str):
        try:
            from fastml.losses import label_weights
        except ImportError as exc:  # pragma: no cover - the losses module ships with fastml
            raise ImportError("plot_label_balance needs fastml.losses.label_weights") from exc
        w_pos, w_neg = label_weights(np.asarray(lab.y), method=weights)
        title = f'label_weights(Y, "{weights}")'
    else:
        try:
            w_pos, w_neg = (np.asarray(w, dtype=np.float64).reshape(-1) for w in weights)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                "weights must be a label_weights method name or a pair (w_pos, w_neg)"
            ) from exc
        if w_pos.shape != (n_labels,) or w_neg.shape != (n_labels,):
            raise ValueError(f"weights must hold {n_labels} values each (one per label)")
        if (w_pos < 0).any() or (w_neg < 0).any() or not np.isfinite([w_pos, w_neg]).all():
            raise ValueError("weights must be finite and non-negative")
        title = "given weights"
    wp, wn = w_pos * pos, w_neg * neg
    total = wp + wn
    with np.errstate(invalid="ignore", divide="ignore"):
        after_pos = np.where(total > 0, wp / total, 0.0)
        after_neg = np.where(total > 0, wn / total, 0.0)
    if axes is None:
        plt = _pyplot()
        fig, axes = plt.subplots(
            1, 2, figsize=(2 * max(5.0, 0.3 * n_labels + 2.0), 4.0), sharey=True
        )
        fig.suptitle("Share of each label's loss weight: positives vs negatives")
    before_ax, after_ax = axes
    x = np.arange(n_labels)
    for ax, (p, q), subtitle in (
        (before_ax, (pos / n, neg / n), "before weighting (every sample 1)"),
        (after_ax, (after_pos, after_neg), f"after weighting ({title})"),
    ):
        ax.bar(x - 0.2, p, width=0.4, color=_POSITIVE, label="positives")
        ax.bar(x + 0.2, q, width=0.4, color=_NEGATIVE, label="negatives")
        ax.axhline(0.5, color="black", linewidth=0.8, linestyle=":")
        _label_axis(ax, names)
        ax.set_ylim(0, 1.15)
        ax.set_title(subtitle)
    before_ax.set_ylabel("share of the label's weight")
    before_ax.legend(loc="upper center", ncol=2, fontsize="small")
    return before_ax, after_ax


def plot_irlbl(
    Y_before, Y_after=None, label_names=None, *, log: bool = False, ax=None
) -> Axes:
    """IRLbl per label before (and after) resampling, with MeanIR as dashed lines.

    Parameters
    ----------
    Y_before : array-like or sparse matrix of shape (n_samples, n_labels)
        Labels of the original data.
    Y_after : array-like or sparse matrix of shape (n_resampled, n_labels), optional
        Labels after resampling (e.g. ``MLSMOTE().fit_resample(X, Y)[1]``).
    label_names : sequence of str, optional
        Names for the x axis.
    log : bool, default=False
        Logarithmic y axis.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        Bar containers: IRLbl before, then after (when given); the dashed lines are at the
        MeanIR of each.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from fastml.plot import plot_irlbl
    >>> ax = plot_irlbl([[1, 0], [1, 1], [1, 0], [1, 0]], [[1, 0], [1, 1], [1, 1]])
    >>> ax.containers[0].datavalues.tolist(), ax.containers[1].datavalues.tolist()
    ([1.0, 4.0], [1.0, 1.5])
    """
    _pyplot()
    before = label_matrix(Y_before, "Y_before")
    n_labels = before.y.shape[1]
    names = _names(before, label_names, n_labels)
    series = [("before", before, _BEFORE)]
    if Y_after is not None:
        after = label_matrix(Y_after, "Y_after")
        if after.y.shape[1] != n_labels:
            raise ValueError(
                f"Y_after has {after.y.shape[1]} labels but Y_before has {n_labels}"
            )
        series.append(("after", after, _AFTER))
    ax = _axes(ax, n_labels)
    x = np.arange(n_labels)
    width = 0.8 / len(series)
    for i, (name, lab, color) in enumerate(series):
        ir = irlbl_from_counts(label_counts(lab.y))
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar(x + offset, ir, width=width, color=color, label=f"IRLbl {name}")
        ax.axhline(
            ir.mean(), color=color, linestyle="--", linewidth=1,
            label=f"MeanIR {name} = {ir.mean():.3g}",
        )
    _label_axis(ax, names)
    ax.set_ylabel("IRLbl (max count / count)")
    suffix = " before and after resampling" if Y_after is not None else ""
    ax.set_title("Imbalance ratio per label" + suffix)
    if log:
        ax.set_yscale("log")
    ax.legend()
    return ax
