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

The assignment runs in one compiled kernel (``fastml.kernels.cpu.split``); this module
validates the input, aggregates rows into groups, and shapes the results. The algorithm is a
sequential greedy loop, so it has no GPU twin: CuPy labels and groups are copied to the host.
Results depend only on the input and ``random_state`` (an int gives the same split every
time).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from math import ceil, floor

import numpy as np
from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils.validation import check_consistent_length

from fastml._backend import is_cupy, is_dask, kernels
from fastml._validation import find_stack_level, plain_array, random_generator

__all__ = [
    "MinTestPositivesWarning",
    "MultilabelStratifiedGroupKFold",
    "MultilabelStratifiedKFold",
    "MultilabelStratifiedShuffleSplit",
    "multilabel_train_test_split",
]

_MAX_NAMED = 10  # labels named in a warning before "and N more"
#: Rounds and candidates per fold of the swap refinement after the greedy assignment (0 rounds:
#: plain iterative stratification, as in the ``iterative-stratification`` package).
_REFINE_ROUNDS = 64
_REFINE_CANDIDATES = 128


class MinTestPositivesWarning(UserWarning):
    """``min_test_positives`` made the test set larger than asked, or could not be met for
    some labels (the split was made anyway)."""


# ------------------------------------------------------------------------------ inputs


@dataclass
class _Units:
    """The rows of ``y`` aggregated into the units that are placed whole (groups or rows)."""

    n_samples: int
    n_labels: int
    uptr: np.ndarray  # int64 (n_units + 1,): CSR of each unit's labels
    ulab: np.ndarray  # int32: label ids
    ucnt: np.ndarray  # int32: positive rows of that label in the unit
    usize: np.ndarray  # int64 (n_units,): rows per unit
    codes: np.ndarray | None  # int64 (n_samples,): unit of each row; None when units are rows
    names: list | None  # label names (DataFrame columns) for messages
    positives: np.ndarray  # int64 (n_labels,): positive rows per label

    @property
    def n_units(self) -> int:
        return self.usize.shape[0]

    def label_units(self) -> np.ndarray:
        """Number of units holding each label."""
        return np.bincount(self.ulab, minlength=self.n_labels)

    def label_name(self, j: int) -> str:
        return f"label {self.names[j]!r}" if self.names is not None else f"label {j}"

    def row_folds(self, unit_fold: np.ndarray) -> np.ndarray:
        return unit_fold if self.codes is None else unit_fold[self.codes]


def _target_error(detail: str) -> ValueError:
    return ValueError(
        "Supported target type is multilabel-indicator: y must be a 0/1 matrix of shape "
        f"(n_samples, n_labels) (or a 1-D 0/1 vector for one label); {detail}."
    )


def _label_rows(y) -> tuple[np.ndarray, np.ndarray, int, int, list | None]:
    """``y`` as CSR of each row's positive labels: ``(indptr, labels, n, L, names)``."""
    if y is None:
        raise ValueError(
            "y is required: the (n_samples, n_labels) 0/1 label matrix to stratify on."
        )
    if is_cupy(y):  # the assignment is sequential: it runs on the CPU
        y = y.get()
    names = None
    columns = getattr(y, "columns", None)
    if columns is not None and getattr(y, "ndim", 2) == 2:
        names = list(columns)
    if type(y).__module__.startswith("scipy.sparse"):
        if y.ndim != 2:
            raise _target_error(f"got a sparse array of shape {y.shape}")
        if y.shape[0] == 0:
            raise ValueError("y has no rows: cannot split 0 samples.")
        csr = y.tocsr(copy=True)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        if csr.data.size and not bool(np.all(csr.data == 1)):
            raise _target_error("got values other than 0 and 1")
        return (
            csr.indptr.astype(np.int64),
            csr.indices.astype(np.int32),
            csr.shape[0],
            csr.shape[1],
            names,
        )
    try:
        a = plain_array(y, "y")
    except ValueError as exc:  # missing values in a pandas object, ragged lists
        raise _target_error(str(exc).rstrip(".")) from exc
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise _target_error(f"got an array of shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError("y has no rows: cannot split 0 samples.")
    if a.dtype.kind == "O":  # e.g. pandas nullable integers: numbers only, no missing values
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise _target_error("got non-numeric values") from exc
    kind = a.dtype.kind
    if kind == "b":
        y8 = a.view(np.uint8)
    elif kind in "iu":
        if a.size and (a.min() < 0 or a.max() > 1):
            raise _target_error("got values other than 0 and 1")
        y8 = a if a.dtype.itemsize == 1 else a.astype(np.uint8)
    elif kind == "f":
        if a.size and not bool(np.all((a == 0) | (a == 1))):
            raise _target_error("got values other than 0 and 1 (or NaN)")
        y8 = a.astype(np.uint8)
    else:
        raise _target_error(f"got dtype {a.dtype}")
    y8 = np.ascontiguousarray(y8.view(np.uint8))
    indptr, labels = kernels("labels").row_csr(y8)
    return indptr, labels, a.shape[0], a.shape[1], names


def _group_codes(groups, n_samples: int) -> tuple[np.ndarray, int]:
    """Integer codes 0..G-1 for the group labels (any hashable values) and G."""
    g = groups.get() if is_cupy(groups) else np.asarray(groups)
    if g.ndim != 1:
        g = g.reshape(-1) if g.ndim == 2 and 1 in g.shape else g
    if g.ndim == 1:
        check_consistent_length(np.empty(n_samples), g)
    if g.ndim != 1 or g.shape[0] != n_samples:
        raise ValueError(
            f"groups must be a 1-D array with one entry per sample ({n_samples}); "
            f"got shape {np.shape(groups)}."
        )
    if g.dtype.kind in "biufUSmM":
        uniques, codes = np.unique(g, return_inverse=True)
        return codes.astype(np.int64).reshape(-1), len(uniques)
    try:
        import pandas as pd

        codes, uniques = pd.factorize(g, use_na_sentinel=False)
        return codes.astype(np.int64), len(uniques)
    except ImportError:
        seen: dict = {}
        codes = np.fromiter((seen.setdefault(v, len(seen)) for v in g), np.int64, n_samples)
        return codes, len(seen)


def _units(y, groups=None, X=None) -> _Units:
    """Validate ``y`` (and ``X``, ``groups``) and aggregate the rows into units.

    Dask collections: ``y`` and ``groups`` are gathered (the assignment is sequential and
    runs in memory), ``X`` only gives its length."""
    if is_dask(y) or is_dask(groups) or is_dask(X):
        from fastml._dask import split as dask_split

        y, groups, X = dask_split.gather(y), dask_split.gather(groups), dask_split.stand_in(X)
    k = kernels("split")
    indptr, labels, n, n_labels, names = _label_rows(y)
    if X is not None:
        check_consistent_length(X, np.empty(n))
    positives = np.bincount(labels, minlength=n_labels).astype(np.int64)
    if groups is None:
        return _Units(
            n, n_labels, indptr, labels, np.ones(labels.shape[0], np.int32),
            np.ones(n, np.int64), None, names, positives,
        )
    codes, n_groups = _group_codes(groups, n)
    uptr, ulab, ucnt, usize = k.group_units(indptr, labels, codes, n_groups, n_labels)
    return _Units(n, n_labels, uptr, ulab, ucnt, usize, codes, names, positives)


def _split_sizes(n_samples: int, test_size, train_size, default_test_size: float):
    """``(n_train, n_test)`` from ``test_size`` / ``train_size`` (scikit-learn's rules)."""
    if test_size is None and train_size is None:
        test_size = default_test_size
    sizes = {}
    for name, value in (("test_size", test_size), ("train_size", train_size)):
        if value is None:
            sizes[name] = None
        elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
            if not 0 < value < n_samples:
                raise ValueError(
                    f"{name}={value} must be a positive int smaller than the number of "
                    f"samples ({n_samples}), or a float in the (0, 1) range."
                )
            sizes[name] = ("i", int(value))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            if not 0 < value < 1:
                raise ValueError(
                    f"{name}={value} must be a float in the (0, 1) range, or a positive int "
                    f"smaller than the number of samples ({n_samples})."
                )
            sizes[name] = ("f", float(value))
        else:
            raise ValueError(f"Invalid value for {name}: {value!r}")
    test, train = sizes["test_size"], sizes["train_size"]
    if test and train and test[0] == train[0] == "f" and test[1] + train[1] > 1:
        raise ValueError(
            f"test_size + train_size = {test[1] + train[1]} must not exceed 1; reduce "
            "test_size and/or train_size."
        )
    n_test = None if test is None else (ceil(test[1] * n_samples) if test[0] == "f" else test[1])
    n_train = (
        None if train is None else (floor(train[1] * n_samples) if train[0] == "f" else train[1])
    )
    if n_train is None:
        n_train = n_samples - n_test
    elif n_test is None:
        n_test = n_samples - n_train
    if n_train + n_test > n_samples:
        raise ValueError(
            f"train_size + test_size = {n_train + n_test} samples is more than the "
            f"{n_samples} samples there are; reduce test_size and/or train_size."
        )
    if n_train == 0:
        raise ValueError(
            f"With n_samples={n_samples}, test_size={test_size} and train_size={train_size} "
            "the train set would be empty; adjust one of them."
        )
    return n_train, n_test


def _floors(min_test_positives, positives: np.ndarray) -> np.ndarray:
    """Per-label floors (int64) on test positives; labels without positives get 0."""
    n_labels = positives.shape[0]
    if min_test_positives is None:
        return np.zeros(n_labels, np.int64)
    value = min_test_positives
    if isinstance(value, bool) or (isinstance(value, np.ndarray) and value.dtype.kind == "b"):
        raise TypeError("min_test_positives must be an int count or a float fraction, not bool.")
    if isinstance(value, numbers.Integral):
        counts = np.full(n_labels, int(value), np.int64)
    elif isinstance(value, numbers.Real):
        counts = None
        fractions = np.full(n_labels, float(value))
    else:
        a = np.asarray(value)
        if a.ndim != 1 or a.shape[0] != n_labels:
            raise ValueError(
                "min_test_positives must be a number or one value per label "
                f"({n_labels}); got shape {a.shape}."
            )
        if a.dtype.kind in "iu":
            counts = a.astype(np.int64)
        elif a.dtype.kind == "f":
            counts = None
            fractions = a.astype(np.float64)
        else:
            raise TypeError(f"min_test_positives must be numeric; got dtype {a.dtype}.")
    if counts is None:
        if not bool(np.all((fractions >= 0) & (fractions <= 1))):
            raise ValueError(
                "min_test_positives as a float is a fraction of each label's positives and "
                f"must lie in (0, 1]; got {min_test_positives!r} (pass an int for a count)."
            )
        # ceil, forgiving the rounding error of products such as 0.2 * 5
        counts = np.ceil(np.round(fractions * positives, 9)).astype(np.int64)
    elif counts.size and counts.min() < 0:
        raise ValueError(f"min_test_positives must be >= 0; got {min_test_positives!r}.")
    return np.where(positives > 0, counts, 0)


# ------------------------------------------------------------------------------ assignment


def _assign(
    units: _Units,
    ratios: np.ndarray,
    rng: np.random.Generator | None,
    *,
    keep_nonempty: np.ndarray,
    test_fold: int = -1,
    floors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold of every row for parts of relative sizes ``ratios`` and the test positives."""
    n_units, n_labels = units.n_units, units.n_labels
    if rng is None:  # no shuffling: input order, fixed tie-breaking
        order = np.arange(n_units, dtype=np.int64)
        seed = 0
        label_prio = np.arange(n_labels, dtype=np.int64)
    else:
        order = rng.permutation(n_units).astype(np.int64)
        seed = int(rng.integers(0, 2**63 - 1))
        label_prio = rng.permutation(n_labels).astype(np.int64)
    positives = units.positives.astype(np.float64)
    demand = np.outer(positives, ratios)
    if floors is None:
        floors = np.zeros(n_labels, np.int64)
    target = ratios[test_fold] * positives if test_fold >= 0 else np.zeros(n_labels)
    if test_fold >= 0 and floors.any():
        # Aim the test side at the floor where it is above the proportional share, and
        # share what is left among the other parts in proportion to their sizes.
        want = np.maximum(target, np.minimum(floors, positives))
        others = np.delete(np.arange(ratios.shape[0]), test_fold)
        rest = ratios[others] / ratios[others].sum()
        demand[:, test_fold] = want
        demand[:, others] = np.outer(positives - want, rest)
    size_demand = ratios * units.n_samples
    fold, test_counts = kernels("split").stratify(
        units.uptr, units.ulab, units.ucnt, units.usize, units.codes is None, order, seed,
        label_prio,
        np.ascontiguousarray(demand), size_demand.astype(np.float64),
        np.asarray(keep_nonempty, dtype=np.bool_), test_fold, floors.astype(np.int64),
        target.astype(np.float64), ratios.astype(np.float64), _REFINE_ROUNDS, _REFINE_CANDIDATES,
    )
    return units.row_folds(fold), test_counts


def _warn_unmet(units: _Units, floors: np.ndarray, test_counts: np.ndarray) -> None:
    unmet = np.flatnonzero(test_counts < floors)
    if unmet.size == 0:
        return
    positives = units.positives
    unit_word = "groups" if units.codes is not None else "rows"
    parts = [
        f"{units.label_name(j)}: {test_counts[j]} of {floors[j]} "
        f"({positives[j]} positives in all)"
        for j in unmet[:_MAX_NAMED]
    ]
    if unmet.size > _MAX_NAMED:
        parts.append(f"and {unmet.size - _MAX_NAMED} more")
    warnings.warn(
        f"min_test_positives could not be met for {unmet.size} of {units.n_labels} labels "
        f"without splitting {unit_word} or emptying the train set; test positives reached: "
        + "; ".join(parts),
        MinTestPositivesWarning,
        stacklevel=find_stack_level(),
    )


def _train_test_ratios(n_samples: int, n_train: int, n_test: int):
    left = n_samples - n_train - n_test
    ratios = np.array([n_train, n_test] + ([left] if left > 0 else []), dtype=np.float64)
    keep = np.array([True, True] + ([False] if left > 0 else []))
    return ratios / n_samples, keep


def _need_groups(units: _Units, n_parts: int, what: str) -> None:
    if units.codes is not None and units.n_units < n_parts:
        raise ValueError(
            f"{what} needs at least {n_parts} groups; got {units.n_units}."
        )


def _warn_grown(units: _Units, floors: np.ndarray, share: float, n_test: int) -> None:
    """Warn that the floors made the test set larger than asked, naming the labels whose
    floor is above their share of positives at the requested test size (``share`` is the
    test fraction asked, ``n_test`` the test rows reached)."""
    n, asked = units.n_samples, round(share * units.n_samples)
    if n_test <= asked:
        return
    positives = units.positives
    shares = share * positives
    # Name the labels whose floor exceeds even their share rounded up; if none does, the
    # rounding itself made the difference.
    over = np.flatnonzero(floors > np.ceil(np.round(shares, 9)))
    if over.size == 0:
        over = np.flatnonzero(floors > shares)
        if over.size == 0:
            return
    parts = [
        f"{units.label_name(j)}: {floors[j]} of {positives[j]} positives "
        f"(share {shares[j]:.3g})"
        for j in over[:_MAX_NAMED]
    ]
    if over.size > _MAX_NAMED:
        parts.append(f"and {over.size - _MAX_NAMED} more")
    warnings.warn(
        f"the test set has {n_test} of {n} rows ({n_test / n:.1%}) instead of the {asked} "
        f"({share:.1%}) asked: min_test_positives takes precedence over the test size, and "
        f"{over.size} of {units.n_labels} labels need more test positives than their share "
        "at the size asked: " + "; ".join(parts),
        MinTestPositivesWarning,
        stacklevel=find_stack_level(),
    )


def _split_once(units, ratios, keep, rng, floors):
    row_fold, test_counts = _assign(
        units, ratios, rng, keep_nonempty=keep, test_fold=1, floors=floors
    )
    train, test = np.flatnonzero(row_fold == 0), np.flatnonzero(row_fold == 1)
    if floors.any():
        _warn_grown(units, floors, float(ratios[1]), test.shape[0])
        _warn_unmet(units, floors, test_counts)
    return train, test


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
