"""Per-row label-ranking metrics: LRAP, coverage error and label ranking loss.

Drop-ins for :func:`sklearn.metrics.label_ranking_average_precision_score`,
:func:`sklearn.metrics.coverage_error` and :func:`sklearn.metrics.label_ranking_loss`.

Accelerated input: a 2-D 0/1 indicator ``y_true`` with at least two labels (NumPy array, list,
pandas DataFrame, or, for LRAP and the ranking loss, a SciPy sparse matrix or array without
stored zeros or duplicate entries), finite numeric ``y_score`` of the same shape, and
optional finite non-negative ``sample_weight`` with a positive sum. Each metric is one
parallel compiled pass over blocks of rows (threads follow ``FASTML_NUM_THREADS`` /
``fastml.set_num_threads``). Anything else is handed unchanged to scikit-learn, which returns
its own result or raises its own error. CuPy arrays run on the GPU (one kernel launch over
all rows, ``fastml.metrics._gpu_ranking``), with the same result, a Python float.
"""

from __future__ import annotations

import numpy as np

from fastml._backend import is_cupy, kernels
from fastml._validation import (
    ScoredTargets,
    as_array,
    reference_fallback,
    require,
    scored_targets,
)

_NO_WEIGHTS = np.empty(0, dtype=np.float64)


def _positional_weights(sample_weight) -> None:
    """scikit-learn's LRAP indexes ``sample_weight[i]``: a pandas Series must be positional."""
    if type(sample_weight).__module__.startswith("pandas"):
        index = getattr(sample_weight, "index", None)
        require(type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1)


def _score_array(y_score) -> np.ndarray:
    s = as_array(y_score)
    if s.dtype.kind == "b":  # bool scores compare like 0/1
        s = s.view(np.uint8)
    return s


def _prepared(
    y_true, y_score, sample_weight, *, allow_sparse: bool
) -> tuple[ScoredTargets, np.ndarray]:
    t = scored_targets(
        y_true, y_score, sample_weight, allow_sparse=allow_sparse, allow_binary=False
    )
    return t, (_NO_WEIGHTS if t.weight is None else t.weight)


def _c(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a)


@reference_fallback("label_ranking_average_precision_score")
def label_ranking_average_precision_score(y_true, y_score, *, sample_weight=None) -> float:
    """Compute ranking-based average precision (LRAP).

    For each sample and each relevant label, the fraction of labels ranked at or above it
    that are relevant, averaged over the sample's relevant labels and then over samples.
    Tied scores share the lowest (pessimistic) rank. A sample with no relevant labels, or
    with every label relevant, scores 1.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels)
        True binary labels in label indicator format.
    y_score : array-like of shape (n_samples, n_labels)
        Target scores (probabilities or decision values); higher ranks first.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    score : float
        Ranking-based average precision, in (0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.metrics import label_ranking_average_precision_score
    >>> y_true = np.array([[1, 0, 0], [0, 0, 1]])
    >>> y_score = np.array([[0.75, 0.5, 1], [1, 0.2, 0.1]])
    >>> label_ranking_average_precision_score(y_true, y_score)
    0.41666666666666663
    """
    if is_cupy(y_true) or is_cupy(y_score):  # device data: fastml/metrics/_gpu_ranking.py
        from fastml.metrics._gpu_ranking import ranking_metric

        return ranking_metric("lrap", y_true, y_score, sample_weight)
    s_in = as_array(y_score)
    require(s_in.dtype.kind != "b")  # scikit-learn negates the scores: TypeError for bool
    t, w = _prepared(y_true, s_in, sample_weight, allow_sparse=True)
    if sample_weight is not None:
        _positional_weights(sample_weight)
    score = t.score
    if s_in.dtype.kind == "u":
        # scikit-learn ranks -y_score, which wraps around for unsigned integers: a zero score
        # ranks above every other value.
        score = np.where(s_in == 0, 2.0 ** (8 * s_in.dtype.itemsize), score)
    elif s_in.dtype.kind == "i":
        # -y_score wraps at the dtype's minimum, which then ranks first.
        score = -((-s_in).astype(np.float64))
    k = kernels("metrics_ranking")
    return float(k.lrap(_c(t.y), _c(score), w))


@reference_fallback("coverage_error")
def coverage_error(y_true, y_score, *, sample_weight=None) -> float:
    """Coverage error: how far down the ranking one must go to cover every true label.

    For each sample, the number of labels scored at least as high as the lowest-scored
    relevant label (ties count against the ranking); 0 for a sample without relevant labels.
    The result is the (weighted) mean over samples.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        True binary labels in label indicator format.
    y_score : array-like of shape (n_samples, n_labels)
        Target scores (probabilities or decision values); higher ranks first.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    coverage_error : float
        The coverage error.

    Examples
    --------
    >>> from fastml.metrics import coverage_error
    >>> y_true = [[1, 0, 0], [0, 1, 1]]
    >>> y_score = [[1, 0, 0], [0, 1, 1]]
    >>> coverage_error(y_true, y_score)
    1.5
    """
    if is_cupy(y_true) or is_cupy(y_score):  # device data: fastml/metrics/_gpu_ranking.py
        from fastml.metrics._gpu_ranking import ranking_metric

        return ranking_metric("coverage", y_true, y_score, sample_weight)
    s_in = _score_array(y_score)
    # scikit-learn's masked minimum warns (overflow in cast) on float16 scores
    require(s_in.dtype != np.float16)
    t, w = _prepared(y_true, s_in, sample_weight, allow_sparse=False)
    k = kernels("metrics_ranking")
    return float(k.coverage(_c(t.y), _c(t.score), w))


@reference_fallback("label_ranking_loss")
def label_ranking_loss(y_true, y_score, *, sample_weight=None) -> float:
    """Compute the label ranking loss.

    For each sample, the fraction of (relevant, irrelevant) label pairs in which the
    irrelevant label scores at least as high as the relevant one (ties are errors); 0 for a
    sample with no relevant or no irrelevant label. The result is the (weighted) mean.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels)
        True binary labels in label indicator format.
    y_score : array-like of shape (n_samples, n_labels)
        Target scores (probabilities or decision values); higher ranks first.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        Average fraction of incorrectly ordered label pairs.

    Examples
    --------
    >>> from fastml.metrics import label_ranking_loss
    >>> y_true = [[1, 0, 0], [0, 0, 1]]
    >>> y_score = [[0.75, 0.5, 1], [1, 0.2, 0.1]]
    >>> label_ranking_loss(y_true, y_score)
    0.75
    """
    if is_cupy(y_true) or is_cupy(y_score):  # device data: fastml/metrics/_gpu_ranking.py
        from fastml.metrics._gpu_ranking import ranking_metric

        return ranking_metric("ranking_loss", y_true, y_score, sample_weight)
    s_in = _score_array(y_score)
    t, w = _prepared(y_true, s_in, sample_weight, allow_sparse=True)
    k = kernels("metrics_ranking")
    return float(k.ranking_loss(_c(t.y), _c(t.score), w))


__all__ = [
    "coverage_error",
    "label_ranking_average_precision_score",
    "label_ranking_loss",
]
