"""Multi-label stratified, group-aware train/test splits and cross-validation splitters.

Iterative stratification (Sechidis, Tsoumakas & Vlahavas, 2011), generalised to groups: the
rows of a group (a patient, a user, a document) always land on the same side, and each
label's positives are spread over the parts in proportion to the parts' sizes as closely as
the groups allow. ``min_test_positives`` keeps rare labels testable: a per-label floor on the
test side, met by moving whole groups whenever that is possible.

- :func:`multilabel_train_test_split`: like :func:`sklearn.model_selection.train_test_split`.
- :class:`MultilabelStratifiedKFold`, :class:`MultilabelStratifiedShuffleSplit`,
  :class:`MultilabelStratifiedGroupKFold`: scikit-learn splitters (``split(X, y, groups)``,
  ``get_n_splits``), usable as ``cv=`` in ``cross_val_score``, ``GridSearchCV`` and so on.
  The first two take the same arguments as those of the ``iterative-stratification``
  package.

The assignment runs in one compiled kernel (``fastml.kernels.cpu.split``);
:mod:`fastml.split._stratify` validates the labels, aggregates rows into groups and calls it,
and the splitters here shape the results. (They are defined in this file rather than a
submodule of their own: importing scikit-learn gets slower the deeper the Python stack it
is imported from, by tens of milliseconds for two more package levels.) The algorithm is a
sequential greedy loop, so it has no GPU twin: CuPy labels and groups are copied to the host.
Results depend only on the input and ``random_state`` (an int gives the same split every
time).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils.validation import check_consistent_length

from fastml._backend import is_dask
from fastml._validation import find_stack_level, random_generator
from fastml.split._stratify import (
    MinTestPositivesWarning,
    _assign,
    _floors,
    _need_groups,
    _split_once,
    _split_sizes,
    _train_test_ratios,
    _Units,
    _units,
)

__all__ = [
    "MinTestPositivesWarning",
    "MultilabelStratifiedGroupKFold",
    "MultilabelStratifiedKFold",
    "MultilabelStratifiedShuffleSplit",
    "multilabel_train_test_split",
]


def multilabel_train_test_split(
    *arrays,
    y,
    groups=None,
    test_size: float | int | None = None,
    train_size: float | int | None = None,
    min_test_positives=None,
    random_state=None,
    shuffle: bool = True,
) -> list:
    """Split arrays into train and test subsets, stratified on a multi-label ``y``.

    Like :func:`sklearn.model_selection.train_test_split` with ``stratify=y``, for a 0/1
    label matrix: each label's positives are spread over train and test in proportion to
    their sizes (iterative stratification). With ``groups``, all rows of a group land on the
    same side.

    Parameters
    ----------
    *arrays : sequence of indexables with the same length
        Lists, NumPy arrays, SciPy sparse matrices or pandas objects to split. Dask arrays
        and DataFrames too: then ``y`` and ``groups`` are gathered to decide the split in
        memory, and the parts come back as Dask collections (the same rows, never gathered).
    y : array-like or sparse matrix of shape (n_samples, n_labels)
        The 0/1 label matrix to stratify on (a 1-D 0/1 vector is one label). Pass it among
        ``arrays`` too to get it split.
    groups : array-like of shape (n_samples,), default=None
        Group of each row (any hashable values): rows of a group are never separated.
    test_size, train_size : float or int, default=None
        As in scikit-learn: a fraction of the rows, or a number of rows; ``test_size``
        defaults to 0.25 when both are None. Rows neither in train nor in test (when both are
        given and leave some out) are dropped. The sizes reached are close to these, not exact:
        stratification (and whole groups) come first.
    min_test_positives : int, float or array-like of shape (n_labels,), default=None
        Floor on each label's positive rows in the test set: an int is a count, a float in
        (0, 1] a fraction of the label's positives (rounded up); one value per label is
        allowed. Met by moving whole groups (or rows) into the test set whenever possible;
        otherwise the split is made anyway and a :class:`MinTestPositivesWarning` names the
        labels and the counts reached. Labels with no positive at all are exempt. The floors
        take precedence over ``test_size``: a label whose floor is above its share
        (``test_size`` x its positives; 0.5 with ``test_size=0.2``, say) needs a larger test
        set, which then grows as far as the floors need (never emptying the train set), and
        a :class:`MinTestPositivesWarning` gives the size reached and names those labels.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the processing order and tie-breaking; an int gives the same split every time.
    shuffle : bool, default=True
        If False, rows are processed in input order and ties are broken by position: the split
        is then deterministic without a seed (``random_state`` is ignored).

    Returns
    -------
    splitting : list of length 2 * len(arrays)
        ``[a_train, a_test, b_train, ...]``, each of the input's type (rows in input order).

    Warns
    -----
    MinTestPositivesWarning
        When ``min_test_positives`` makes the test set larger than asked, or cannot be met
        for some labels.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.split import multilabel_train_test_split
    >>> rng = np.random.default_rng(0)
    >>> Y = (rng.random((1000, 5)) < [0.3, 0.2, 0.1, 0.05, 0.01]).astype(int)
    >>> X = rng.standard_normal((1000, 3))
    >>> X_train, X_test, Y_train, Y_test = multilabel_train_test_split(
    ...     X, Y, y=Y, test_size=0.2, min_test_positives=2, random_state=0)
    >>> X_train.shape, X_test.shape
    ((800, 3), (200, 3))
    >>> bool((Y_test.sum(axis=0) >= 2).all())
    True
    """
    if not arrays:
        raise ValueError("At least one array required as input")
    if any(is_dask(a) for a in (*arrays, y, groups)):
        from fastml._dask import split as dask_split

        return dask_split.train_test_split(
            multilabel_train_test_split, arrays, y=y, groups=groups, test_size=test_size,
            train_size=train_size, min_test_positives=min_test_positives,
            random_state=random_state, shuffle=shuffle,
        )
    arrays = indexable(*arrays)
    units = _units(y, groups, arrays[0])
    check_consistent_length(*arrays, np.empty(units.n_samples))
    n_train, n_test = _split_sizes(units.n_samples, test_size, train_size, 0.25)
    _need_groups(units, 2, "multilabel_train_test_split")
    ratios, keep = _train_test_ratios(units.n_samples, n_train, n_test)
    floors = _floors(min_test_positives, units.positives)
    rng = random_generator(random_state) if shuffle else None
    train, test = _split_once(units, ratios, keep, rng, floors)
    return [part for a in arrays for part in (_safe_indexing(a, train), _safe_indexing(a, test))]


# ------------------------------------------------------------------------------ splitters


def _check_kfold(n_splits, shuffle, random_state) -> int:
    if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
        raise ValueError(
            f"The number of folds must be of Integral type; {n_splits!r} of type "
            f"{type(n_splits)} was passed."
        )
    if n_splits <= 1:
        raise ValueError(
            "k-fold cross-validation requires at least one train/test split by setting "
            f"n_splits=2 or more, got n_splits={n_splits}."
        )
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False; got {shuffle!r}")
    if not shuffle and random_state is not None:
        raise ValueError(
            "Setting a random_state has no effect since shuffle is False: leave random_state "
            "to its default (None), or set shuffle=True."
        )
    return int(n_splits)


def _kfold(units: _Units, n_splits: int, shuffle: bool, random_state):
    held = units.label_units()
    few = np.flatnonzero((held > 0) & (held < n_splits))
    if few.size:
        unit_word = "groups" if units.codes is not None else "samples"
        j = few[np.argmin(held[few])]
        warnings.warn(
            f"{few.size} of {units.n_labels} labels have positives in fewer than "
            f"n_splits={n_splits} {unit_word} "
            f"(the least populated, {units.label_name(j)}, in {held[j]}): some test folds "
            "will have no positive of them.",
            UserWarning,
            stacklevel=find_stack_level(),
        )
    rng = random_generator(random_state) if shuffle else None
    ratios = np.full(n_splits, 1.0 / n_splits)
    row_fold, _ = _assign(units, ratios, rng, keep_nonempty=np.ones(n_splits, bool))
    for f in range(n_splits):
        test = row_fold == f
        yield np.flatnonzero(~test), np.flatnonzero(test)


class MultilabelStratifiedKFold(BaseCrossValidator):
    """Multi-label stratified K-fold cross-validator.

    Each fold is a test set once. Every label's positives are spread over the folds as evenly
    as possible (iterative stratification), and fold sizes stay close to n_samples /
    n_splits. Same arguments and splitting rule as ``iterstrat.ml_stratifiers.
    MultilabelStratifiedKFold``; for rows grouped by patient, user or document, use
    :class:`MultilabelStratifiedGroupKFold`.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=False
        Process the rows in a random order (seeded by ``random_state``) and break ties at
        random; if False, rows are taken in input order and ties broken by position.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed, used only when ``shuffle`` is True (an int gives the same folds every time).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.split import MultilabelStratifiedKFold
    >>> Y = np.array([[0, 0], [0, 0], [0, 1], [0, 1], [1, 1], [1, 1], [1, 0], [1, 0]])
    >>> cv = MultilabelStratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    >>> cv.get_n_splits()
    2
    >>> for train, test in cv.split(np.zeros((8, 1)), Y):
    ...     print(Y[test].sum(axis=0))
    [2 2]
    [2 2]
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state=None):
        self.n_splits = _check_kfold(n_splits, shuffle, random_state)
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, X, y, groups=None):
        """Generate indices to split data into training and test set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Training data (only its length is used).
        y : array-like or sparse matrix of shape (n_samples, n_labels)
            The 0/1 label matrix to stratify on.
        groups : None
            Ignored (with a warning when given); use
            :class:`MultilabelStratifiedGroupKFold` to keep groups together.

        Yields
        ------
        train : ndarray
            The training set indices for that split (ascending).
        test : ndarray
            The testing set indices for that split (ascending).
        """
        if groups is not None:
            warnings.warn(
                f"The groups parameter is ignored by {type(self).__name__}; use "
                "MultilabelStratifiedGroupKFold to keep groups together.",
                UserWarning,
                stacklevel=find_stack_level(),
            )
        units = _units(y, None, X)
        if self.n_splits > units.n_samples:
            raise ValueError(
                f"Cannot have number of splits n_splits={self.n_splits} greater than the "
                f"number of samples: n_samples={units.n_samples}."
            )
        yield from _kfold(units, self.n_splits, self.shuffle, self.random_state)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of splits, ``n_splits`` (the arguments are ignored)."""
        return self.n_splits


class MultilabelStratifiedGroupKFold(BaseCrossValidator):
    """Multi-label stratified K-fold over groups: no group is in two folds.

    Iterative stratification over groups: each group's per-label positive counts and size
    are aggregated, and groups are placed whole, rarest labels and largest groups first, so
    that every label's positives are spread over the folds as evenly as the groups allow.
    Fold sizes (in rows) stay close to n_samples / n_splits.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2 and at most the number of groups.
    shuffle : bool, default=False
        Process the groups in a random order (seeded by ``random_state``) and break ties at
        random; if False, groups are taken in the order of their sorted group values.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed, used only when ``shuffle`` is True.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.split import MultilabelStratifiedGroupKFold
    >>> rng = np.random.default_rng(0)
    >>> Y = (rng.random((600, 4)) < 0.2).astype(int)
    >>> patients = rng.integers(0, 150, 600)
    >>> cv = MultilabelStratifiedGroupKFold(n_splits=3, shuffle=True, random_state=0)
    >>> for train, test in cv.split(None, Y, groups=patients):
    ...     assert not set(patients[train]) & set(patients[test])
    """

    __metadata_request__split = {"groups": True}

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state=None):
        self.n_splits = _check_kfold(n_splits, shuffle, random_state)
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, X, y, groups=None):
        """Generate indices to split data into training and test set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Training data (only its length is used).
        y : array-like or sparse matrix of shape (n_samples, n_labels)
            The 0/1 label matrix to stratify on.
        groups : array-like of shape (n_samples,)
            Group of each row (any hashable values).

        Yields
        ------
        train : ndarray
            The training set indices for that split (ascending).
        test : ndarray
            The testing set indices for that split (ascending).
        """
        if groups is None:
            raise ValueError("The 'groups' parameter should not be None.")
        units = _units(y, groups, X)
        if self.n_splits > units.n_units:
            raise ValueError(
                f"Cannot have number of splits n_splits={self.n_splits} greater than the "
                f"number of groups: {units.n_units}."
            )
        yield from _kfold(units, self.n_splits, self.shuffle, self.random_state)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of splits, ``n_splits`` (the arguments are ignored)."""
        return self.n_splits


class MultilabelStratifiedShuffleSplit(BaseShuffleSplit):
    """Multi-label stratified random train/test splits, repeated ``n_splits`` times.

    Each split is an iterative stratification of a fresh random order: every label's
    positives are spread over train and test in proportion to their sizes. Same arguments
    and splitting rule as ``iterstrat.ml_stratifiers.MultilabelStratifiedShuffleSplit``;
    in addition, ``groups`` passed to :meth:`split` are kept whole, and
    ``min_test_positives`` sets a floor on each label's test positives.

    Parameters
    ----------
    n_splits : int, default=10
        Number of re-shuffling and splitting iterations.
    test_size, train_size : float or int, default=None
        As in scikit-learn's ShuffleSplit (``test_size`` 0.1 when both are None); the sizes
        reached are close to these, not exact.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed; an int gives the same sequence of splits on every call of :meth:`split`.
    min_test_positives : int, float or array-like of shape (n_labels,), default=None
        Per-label floor on test positives, as in :func:`multilabel_train_test_split`: it
        takes precedence over ``test_size`` (a larger test set, with a
        :class:`MinTestPositivesWarning`, where a floor is above the label's share).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.split import MultilabelStratifiedShuffleSplit
    >>> rng = np.random.default_rng(0)
    >>> Y = (rng.random((1000, 3)) < [0.3, 0.1, 0.02]).astype(int)
    >>> cv = MultilabelStratifiedShuffleSplit(n_splits=2, test_size=0.2, random_state=0)
    >>> for train, test in cv.split(None, Y):
    ...     print(len(test), Y[test].sum(axis=0), Y.sum(axis=0))
    200 [60 20  4] [300 101  22]
    200 [60 20  4] [300 101  22]
    """

    __metadata_request__split = {"groups": True}

    def __init__(
        self,
        n_splits: int = 10,
        *,
        test_size: float | int | None = None,
        train_size: float | int | None = None,
        random_state=None,
        min_test_positives=None,
    ):
        super().__init__(
            n_splits=n_splits, test_size=test_size, train_size=train_size,
            random_state=random_state,
        )
        self.min_test_positives = min_test_positives

    def split(self, X, y, groups=None):
        """Generate indices to split data into training and test set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Training data (only its length is used).
        y : array-like or sparse matrix of shape (n_samples, n_labels)
            The 0/1 label matrix to stratify on.
        groups : array-like of shape (n_samples,), default=None
            Group of each row: when given, no group is on both sides.

        Yields
        ------
        train : ndarray
            The training set indices for that split (ascending).
        test : ndarray
            The testing set indices for that split (ascending).
        """
        if not isinstance(self.n_splits, numbers.Integral) or self.n_splits < 1:
            raise ValueError(f"n_splits must be a positive int; got {self.n_splits!r}.")
        units = _units(y, groups, X)
        n_train, n_test = _split_sizes(
            units.n_samples, self.test_size, self.train_size, self._default_test_size
        )
        _need_groups(units, 2, type(self).__name__)
        ratios, keep = _train_test_ratios(units.n_samples, n_train, n_test)
        floors = _floors(self.min_test_positives, units.positives)
        rng = random_generator(self.random_state)
        for _ in range(self.n_splits):
            yield _split_once(units, ratios, keep, rng, floors)
