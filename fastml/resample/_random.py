"""ML-ROS and ML-RUS (Charte et al., Neurocomputing 2015): random over-sampling (cloning)
and under-sampling (deletion) of the rows of the minority / majority labels' bags."""

from __future__ import annotations

import numpy as np

from fastml._backend import is_dask, kernels
from fastml._validation import label_matrix, random_generator
from fastml.resample._base import (
    _check_rows,
    _k,
    _key,
    _ratio,
    _restore_labels,
    _Sampler,
    _take_rows,
)
from fastml.resample._measures import _irlbl_from_counts

#: Largest ML-ROS ``sampling_ratio``: at most ten clones per input row. The clone budget is
#: an upper bound (cloning stops earlier once every minority label reaches MeanIR), so a
#: large value means "until balanced"; the cap bounds the output when that never happens.
_MAX_CLONE_RATIO = 10.0
_FIRST_BUDGET = 1 << 16  # clone buffer of ML-ROS's first try (see _clones)


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
    lab = label_matrix(Y)
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


class _RandomSampler(_Sampler):
    """What ML-ROS and ML-RUS share as estimators: their parameters, and ``fit_resample``
    around :func:`_random_resample` (``_clone``: clone minority rows, else delete majority
    rows; the labels chosen go to the attribute named ``_labels_attribute``)."""

    _parameters = ("sampling_ratio", "random_state")
    _clone: bool
    _labels_attribute: str

    def __init__(self, sampling_ratio: float = 0.25, random_state=None):
        self.sampling_ratio = sampling_ratio
        self.random_state = random_state

    def fit_resample(self, X, Y):
        """Return ``(X_resampled, Y_resampled)``: ML-ROS gives the input rows, then the
        clones; ML-RUS the rows kept, in input order."""
        x, y, index, ir, mir, chosen = _random_resample(
            X, Y, self.sampling_ratio, self.random_state, self._clone
        )
        self._fitted_input(X)
        self.sample_indices_, self.irlbl_, self.mean_ir_ = index, ir, mir
        setattr(self, self._labels_attribute, chosen)
        return x, y


class MLROS(_RandomSampler):
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

    _clone = True
    _labels_attribute = "minority_labels_"


class MLRUS(_RandomSampler):
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

    _clone = False
    _labels_attribute = "majority_labels_"


MLROS.__doc__ = MLROS.__doc__.replace("    {params}\n", _ROS_PARAMS)
MLRUS.__doc__ = MLRUS.__doc__.replace("    {params}\n", _RUS_PARAMS)
