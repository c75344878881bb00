"""Iterative stratification over units (groups, or rows) for fastml.split: the label matrix
aggregated into the units placed whole, the sizes and per-label test floors asked for, the
assignment (one compiled kernel, ``fastml.kernels.cpu.split``: a greedy pass, then swap
refinement) and the warnings about floors."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from math import ceil, floor

import numpy as np
from sklearn.utils.validation import check_consistent_length

from fastml._backend import is_cupy, is_dask, kernels
from fastml._validation import SPLIT_RULES, find_stack_level, label_matrix

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


def _label_rows(y) -> tuple[np.ndarray, np.ndarray, int, int, list | None]:
    """``y`` as CSR of each row's positive labels: ``(indptr, labels, n, L, names)``."""
    lab = label_matrix(y, "y", SPLIT_RULES)  # a sparse y stays sparse
    if lab.csr is not None:
        csr = lab.csr
        return (
            csr.indptr.astype(np.int64),
            csr.indices.astype(np.int32),
            csr.shape[0],
            csr.shape[1],
            lab.names,
        )
    indptr, labels = kernels("labels").row_csr(lab.y)
    return indptr, labels, lab.y.shape[0], lab.y.shape[1], lab.names


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
