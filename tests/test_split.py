"""fastml.split against iterative-stratification (the reference), a plain-Python twin of the
kernel's greedy pass, and the invariants of a group-aware split."""

from __future__ import annotations

import warnings
from math import ceil

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold as RefKFold
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit as RefShuffleSplit
from sklearn.model_selection import GridSearchCV, check_cv, cross_val_score
from sklearn.tree import DecisionTreeClassifier

from fastml._backend import kernels
from fastml.slow.split import greedy_twin
from fastml.split import (
    MinTestPositivesWarning,
    MultilabelStratifiedGroupKFold,
    MultilabelStratifiedKFold,
    MultilabelStratifiedShuffleSplit,
    multilabel_train_test_split,
)

split_cpu = kernels("split")

#: Geometric prevalences from 30% down to 0.3%: common labels next to rare ones.
GEOMETRIC = 0.3 * (0.01 ** (np.arange(10) / 9))


def labels(rng, n, prevalence, *, empty_label=False):
    y = (rng.random((n, len(prevalence))) < prevalence).astype(np.int64)
    if empty_label:
        y[:, -1] = 0
    return y


def grouped(rng, n, n_groups, prevalence):
    """Rows of ``n_groups`` groups whose labels are correlated within each group."""
    g = rng.integers(0, n_groups, n)
    carrier = rng.random((n_groups, len(prevalence))) < 0.5
    y = ((rng.random((n, len(prevalence))) < 2 * np.asarray(prevalence)) & carrier[g])
    return y.astype(np.int64), g


def deviation(y, test, share):
    """Per label, |test positives - share * positives| (counts)."""
    return np.abs(y[test].sum(axis=0) - share * y.sum(axis=0))


def first_split(cls, y, groups=None, **kwargs):
    """``(train, test)`` of the first split of ``cls(n_splits=1, **kwargs)``."""
    return next(cls(n_splits=1, **kwargs).split(np.zeros((len(y), 1)), y, groups))


def assert_partition(n, train, test):
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    assert len(np.intersect1d(train, test)) == 0
    assert len(train) + len(test) == n


def quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **kwargs)


# ------------------------------------------------------------------ against the reference


@pytest.mark.parametrize(
    "n, prevalence",
    [(3000, GEOMETRIC), (2000, np.full(40, 0.05)), (400, [0.2, 0.05, 0.01, 0.005])],
    ids=["geometric", "40x5%", "rare"],
)
def test_shuffle_split_proportions_as_good_as_iterstrat(n, prevalence):
    fast_total = ref_total = 0.0
    for seed in range(4):
        y = labels(np.random.default_rng(seed), n, prevalence)
        train, test = first_split(MultilabelStratifiedShuffleSplit, y, test_size=0.2,
                                  random_state=seed)
        assert_partition(n, train, test)
        _, ref_test = first_split(RefShuffleSplit, y, test_size=0.2, random_state=seed)
        fast, ref = deviation(y, test, 0.2).max(), deviation(y, ref_test, 0.2).max()
        # every label within the reference's tolerance (or one positive, a rounding)
        assert fast <= max(ref, 1.0) + 1e-9
        fast_total, ref_total = fast_total + fast, ref_total + ref
        assert abs(len(test) - 0.2 * n) <= max(abs(len(ref_test) - 0.2 * n), 0.01 * n)
    assert fast_total <= ref_total + 1e-9


def test_many_labels_better_than_iterstrat():
    # 60 labels at 5%: each row has about 3, so the labels the greedy pass reaches last are
    # spread almost at random by the reference; the swap refinement evens them out.
    y = labels(np.random.default_rng(7), 4000, np.full(60, 0.05))
    _, test = first_split(MultilabelStratifiedShuffleSplit, y, test_size=0.25, random_state=1)
    _, ref_test = first_split(RefShuffleSplit, y, test_size=0.25, random_state=1)
    assert deviation(y, test, 0.25).max() <= 1.0
    assert deviation(y, ref_test, 0.25).max() > 3.0


@pytest.mark.parametrize("n_splits", [3, 5])
def test_kfold_proportions_as_good_as_iterstrat(n_splits):
    y = labels(np.random.default_rng(n_splits), 2500, GEOMETRIC)
    cv = MultilabelStratifiedKFold(n_splits, shuffle=True, random_state=0)
    fast = quiet(list, cv.split(y, y))
    ref = quiet(list, RefKFold(n_splits, shuffle=True, random_state=0).split(y, y))
    test_folds = np.concatenate([test for _, test in fast])
    assert np.array_equal(np.sort(test_folds), np.arange(len(y)))
    for train, test in fast:
        assert_partition(len(y), train, test)

    def worst(folds):
        return max(deviation(y, test, 1 / n_splits).max() for _, test in folds)

    assert worst(fast) <= max(worst(ref), 1.0) + 1e-9
    sizes = [len(test) for _, test in fast]
    assert max(sizes) - min(sizes) <= max(2, 0.02 * len(y))


# ------------------------------------------------------------------ groups


def test_groups_are_never_split_and_labels_stay_proportional():
    for seed in range(3):
        rng = np.random.default_rng(seed)
        y, g = grouped(rng, 3000, 600, [0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005])
        train, test = first_split(
            MultilabelStratifiedShuffleSplit, y, g, test_size=0.2, random_state=seed
        )
        assert_partition(len(y), train, test)
        assert not set(g[train]) & set(g[test])
        assert deviation(y, test, 0.2).max() <= 1.0  # a random group split is off by ~25
        assert abs(len(test) - 600) <= 30


def test_group_kfold_keeps_groups_whole():
    rng = np.random.default_rng(3)
    y, g = grouped(rng, 2000, 150, GEOMETRIC)
    g = np.array([f"patient-{v}" for v in g], dtype=object)  # any hashable group labels
    cv = MultilabelStratifiedGroupKFold(4, shuffle=True, random_state=0)
    folds = quiet(list, cv.split(None, y, g))
    seen = set()
    for train, test in folds:
        assert_partition(len(y), train, test)
        assert not set(g[train]) & set(g[test])
        assert not seen & set(g[test])
        seen |= set(g[test])
    assert seen == set(g)
    sizes = [len(test) for _, test in folds]
    assert max(sizes) - min(sizes) <= 0.1 * len(y)


def test_train_test_split_with_groups_and_pandas():
    rng = np.random.default_rng(4)
    y, g = grouped(rng, 1200, 200, [0.3, 0.1, 0.02])
    X = pd.DataFrame(rng.standard_normal((1200, 2)), columns=["a", "b"], index=np.arange(1200) * 3)
    Y = pd.DataFrame(y, columns=["flu", "asthma", "rare"], index=X.index)
    X_train, X_test, Y_train, Y_test, g_train, g_test = multilabel_train_test_split(
        X, Y, list(g), y=Y, groups=pd.Series(g), test_size=0.25, random_state=0
    )
    assert isinstance(X_train, pd.DataFrame) and isinstance(Y_test, pd.DataFrame)
    assert isinstance(g_train, list)
    assert X_train.index.equals(Y_train.index) and X_test.index.equals(Y_test.index)
    assert not set(g_train) & set(g_test)
    assert len(X_train) + len(X_test) == 1200
    assert np.abs(Y_test.sum().to_numpy() - 0.25 * Y.sum().to_numpy()).max() <= 1.0


def test_split_passes_leakage_checks():
    leakage = pytest.importorskip("fastml.leakage")
    rng = np.random.default_rng(5)
    y, g = grouped(rng, 1000, 120, [0.3, 0.1, 0.05])
    ids = np.array([f"P{v:06d}" for v in g], dtype=object)
    train, test = first_split(
        MultilabelStratifiedShuffleSplit, y, ids, test_size=0.3, random_state=0
    )
    assert not leakage.has_leakage(ids[train], ids[test])
    assert not leakage.leakage_report(train=ids[train], test=ids[test])
    leaky = np.append(train, test[0])  # control: one test row also in train
    assert leakage.leakage_report(train=ids[leaky], test=ids[test])
    for train, test in quiet(list, MultilabelStratifiedGroupKFold(3).split(None, y, ids)):
        assert not leakage.has_leakage(ids[train], ids[test])


# ------------------------------------------------------------------ min_test_positives


def test_floors_met_when_feasible():
    rng = np.random.default_rng(6)
    y = labels(rng, 2000, [0.3, 0.05, 0, 0, 0])
    for j, count in [(2, 8), (3, 4), (4, 3)]:  # rare labels with known counts
        y[rng.choice(2000, count, replace=False), j] = 1
    positives = y.sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for floor in [3, 0.5, [1, 50, 4, 2, 3], np.array([0.1, 0.6, 1.0, 0.5, 0.34])]:
            train, test = multilabel_train_test_split(
                np.arange(2000), y=y, test_size=0.2, min_test_positives=floor, random_state=0
            )
            want = np.asarray(floor)
            want = np.ceil(want * positives - 1e-9) if want.dtype.kind == "f" else want
            assert np.all(y[test].sum(axis=0) >= want)
            assert_partition(2000, train, test)


def test_floors_with_groups_move_whole_groups():
    rng = np.random.default_rng(8)
    y, g = grouped(rng, 3000, 400, [0.3, 0.1, 0.01, 0.003])
    with pytest.warns(MinTestPositivesWarning, match="instead of the 300"):  # half > 10%
        train, test = multilabel_train_test_split(
            np.arange(3000), y=y, groups=g, test_size=0.1, min_test_positives=0.5,
            random_state=0,
        )
    assert not set(g[train]) & set(g[test])
    assert np.all(y[test].sum(axis=0) >= np.ceil(0.5 * y.sum(axis=0)))


def test_infeasible_floor_warns_and_still_splits():
    rng = np.random.default_rng(9)
    y = labels(rng, 500, [0.3, 0.1, 0.0])
    y[:3, 2] = 1  # 3 positives
    Y = pd.DataFrame(y, columns=["common", "medium", "rare"])
    with pytest.warns(MinTestPositivesWarning, match=r"1 of 3 labels.*'rare': 3 of 5") as rec:
        train, test = multilabel_train_test_split(
            np.arange(500), y=Y, test_size=0.2, min_test_positives=[0, 0, 5], random_state=0
        )
    assert rec[0].filename == __file__  # attributed to the caller
    assert_partition(500, train, test)
    cv = MultilabelStratifiedShuffleSplit(2, test_size=0.2, min_test_positives=[0, 0, 5])
    with pytest.warns(MinTestPositivesWarning) as rec:
        assert len(list(cv.split(None, Y))) == 2
    assert rec[0].filename == __file__
    assert y[test, 2].sum() == 3  # as close as possible: all of them


def test_floor_above_share_grows_the_test_set_with_a_warning():
    rng = np.random.default_rng(16)
    y = labels(rng, 500, [0.5, 0.2, 0.1, 0.05])
    Y = pd.DataFrame(y, columns=["a", "b", "c", "d"])
    positives = y.sum(axis=0)
    with pytest.warns(MinTestPositivesWarning, match="takes precedence") as rec:
        train, test = multilabel_train_test_split(
            np.arange(500), y=Y, test_size=0.2, min_test_positives=0.5, random_state=0
        )
    assert len(rec) == 1 and rec[0].filename == __file__
    message = str(rec[0].message)
    assert len(test) > 150  # half of label a's positives, at least
    assert f"has {len(test)} of 500 rows ({len(test) / 500:.1%}) instead of the 100 " in message
    assert "4 of 4 labels" in message
    for name, p in zip("abcd", positives, strict=True):
        assert f"label {name!r}: {ceil(p / 2)} of {p} positives (share {0.2 * p:.3g})" in message
    assert np.all(y[test].sum(axis=0) >= np.ceil(positives / 2))
    assert_partition(500, train, test)
    # only the labels whose floor is above their share are named
    with pytest.warns(MinTestPositivesWarning, match="1 of 4 labels") as rec:
        multilabel_train_test_split(
            np.arange(500), y=Y, test_size=0.2, min_test_positives=[0.6, 0.1, 0.0, 0.2],
            random_state=0,
        )
    assert "label 'a'" in str(rec[0].message) and "label 'b'" not in str(rec[0].message)
    # the shuffle split warns for every split it grows
    cv = MultilabelStratifiedShuffleSplit(3, test_size=0.2, min_test_positives=0.5,
                                          random_state=0)
    with pytest.warns(MinTestPositivesWarning, match="takes precedence") as rec:
        sizes = [len(te) for _, te in cv.split(None, y)]
    assert len(rec) == 3 and rec[0].filename == __file__
    for w, n_test in zip(rec, sizes, strict=True):
        assert f"has {n_test} of 500 rows" in str(w.message)
    # floors within the share leave the size alone, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for floor in (0.2, 2, [10, 5, 1, 0]):
            _, test = multilabel_train_test_split(
                np.arange(500), y=y, test_size=0.2, min_test_positives=floor, random_state=0
            )
            assert len(test) == 100
            _, test = first_split(
                MultilabelStratifiedShuffleSplit, y, test_size=0.2, min_test_positives=floor,
                random_state=0,
            )
            assert len(test) == 100


def test_floor_never_empties_train():
    y = np.ones((4, 1), dtype=int)
    with pytest.warns(MinTestPositivesWarning):
        train, test = multilabel_train_test_split(
            np.arange(4), y=y, groups=[0, 0, 1, 1], min_test_positives=1.0, random_state=0
        )
    assert len(train) == 2 and len(test) == 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 40),
    n_labels=st.integers(1, 4),
    n_groups=st.integers(2, 15),
    use_groups=st.booleans(),
    test_size=st.sampled_from([0.1, 0.3, 0.5]),
    train_size=st.sampled_from([None, 0.3, 0.5]),
    floor=st.integers(0, 4),
    seed=st.integers(0, 2**16),
)
def test_split_invariants(n, n_labels, n_groups, use_groups, test_size, train_size, floor, seed):
    if train_size is not None:
        n = max(n, 10)  # at least one row each in train and test
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_labels)) < rng.random(n_labels)).astype(int)
    g = rng.integers(0, min(n_groups, n), n) if use_groups else None
    if g is not None and len(np.unique(g)) < 2:
        g[0], g[-1] = 0, 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train, test = multilabel_train_test_split(
            np.arange(n), y=y, groups=g, test_size=test_size, train_size=train_size,
            min_test_positives=floor, random_state=seed,
        )
    if train_size is None:
        assert_partition(n, train, test)
    else:  # rows in neither part are left out
        assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) <= n
    assert len(train) > 0 and len(test) > 0
    unit = np.arange(n) if g is None else g
    assert not set(unit[train]) & set(unit[test])
    reached = y[test].sum(axis=0)
    unmet = np.flatnonzero((reached < floor) & (y.sum(axis=0) > 0))
    warned = [
        str(w.message) for w in caught if issubclass(w.category, MinTestPositivesWarning)
    ]
    assert any("could not be met" in m for m in warned) == bool(unmet.size)
    asked = ceil(test_size * n)  # rows: the share of a label is asked / n of its positives
    above_share = np.flatnonzero((floor > asked / n * y.sum(axis=0)) & (y.sum(axis=0) > 0))
    grown = len(test) > asked and above_share.size > 0
    assert any(f"has {len(test)} of {n} rows" in m for m in warned) == grown
    assert len(warned) == bool(unmet.size) + grown
    for j in unmet:  # only when infeasible: too few positives, or train down to one unit
        assert y[:, j].sum() < floor or len(set(unit[train])) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 60),
    n_labels=st.integers(1, 4),
    n_groups=st.integers(2, 20),
    n_splits=st.integers(2, 6),
    seed=st.integers(0, 2**16),
)
def test_group_kfold_invariants(n, n_labels, n_groups, n_splits, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_labels)) < rng.random(n_labels)).astype(int)
    g = rng.integers(0, n_groups, n)
    if len(np.unique(g)) < n_splits:
        return
    cv = MultilabelStratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
    folds = quiet(list, cv.split(None, y, g))
    assert len(folds) == n_splits
    tested = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tested), np.arange(n))
    for train, test in folds:
        assert len(test) > 0 and len(train) > 0
        assert not set(g[train]) & set(g[test])


# ------------------------------------------------------------------ the kernel's greedy pass


@pytest.mark.parametrize("seed", range(12))
def test_greedy_pass_matches_plain_twin(seed):
    rng = np.random.default_rng(seed)
    n, n_labels = int(rng.integers(1, 60)), int(rng.integers(1, 6))
    y = (rng.random((n, n_labels)) < rng.random(n_labels) * 0.6).astype(np.uint8)
    indptr, lab = split_cpu.row_csr(y)
    if seed % 2:
        codes = rng.integers(0, max(1, n // 3), n)
        codes = np.unique(codes, return_inverse=True)[1].astype(np.int64)
        units = split_cpu.group_units(indptr, lab, codes, codes.max() + 1, n_labels)
        uptr, ulab, ucnt, usize = units
        counts = np.zeros((len(usize), n_labels), np.int64)
        np.add.at(counts, codes, y)
        unit_rows = False
    else:
        uptr, ulab, ucnt, usize = indptr, lab, np.ones(len(lab), np.int32), np.ones(n, np.int64)
        counts, unit_rows = y.astype(np.int64), True
    ratios = [np.array([0.8, 0.2]), np.array([0.5, 0.3, 0.2]), np.full(4, 0.25)][seed % 3]
    n_units, n_folds = len(usize), len(ratios)
    order = rng.permutation(n_units).astype(np.int64)
    seed_key = int(rng.integers(0, 2**62))
    prio = rng.permutation(n_labels).astype(np.int64)
    total = counts.sum(axis=0).astype(np.float64)
    fold, _ = split_cpu.stratify(
        uptr, ulab, ucnt, usize, unit_rows, order, seed_key, prio, np.outer(total, ratios),
        ratios * usize.sum(), np.zeros(n_folds, np.bool_), -1, np.zeros(n_labels, np.int64),
        np.zeros(n_labels), ratios, 0, 8,
    )
    np.testing.assert_array_equal(fold, greedy_twin(counts, usize, order, seed_key, prio, ratios))


def objective(y, fold_of_row, ratios):
    """Sum over folds and labels (and sizes) of squared relative deviations."""
    cols = np.column_stack([np.ones(len(y)), y]).astype(float)
    total = cols.sum(axis=0)
    value = 0.0
    for f, r in enumerate(ratios):
        dev = cols[fold_of_row == f].sum(axis=0) - r * total
        value += float(np.sum((dev[total > 0] / total[total > 0]) ** 2))
    return value


def test_refinement_never_worsens_the_objective(monkeypatch):
    from fastml.split import _stratify  # where _REFINE_ROUNDS is read

    rounds = _stratify._REFINE_ROUNDS
    improved = []
    for seed in range(4):
        y, g = grouped(np.random.default_rng(seed), 1500, 300, np.full(12, 0.08))
        results = {}
        for r in (0, rounds):
            monkeypatch.setattr(_stratify, "_REFINE_ROUNDS", r)
            _, test = first_split(MultilabelStratifiedShuffleSplit, y, g, random_state=seed)
            fold = np.zeros(len(y), np.int64)
            fold[test] = 1
            results[r] = objective(y, fold, [0.9, 0.1])
        assert results[rounds] <= results[0] + 1e-12
        improved.append(results[rounds] < results[0] - 1e-12)
    assert any(improved)  # the rounds set above reach the kernel: refining did something


# ------------------------------------------------------------------ determinism


def test_same_seed_same_split_and_seeds_differ():
    y = labels(np.random.default_rng(10), 800, GEOMETRIC)
    g = np.random.default_rng(11).integers(0, 200, 800)
    for groups in (None, g):
        a = multilabel_train_test_split(np.arange(800), y=y, groups=groups, random_state=3)
        b = multilabel_train_test_split(np.arange(800), y=y, groups=groups, random_state=3)
        c = multilabel_train_test_split(np.arange(800), y=y, groups=groups, random_state=4)
        assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], c[1])
        d = multilabel_train_test_split(np.arange(800), y=y, groups=groups, shuffle=False)
        e = multilabel_train_test_split(np.arange(800), y=y, groups=groups, shuffle=False)
        assert np.array_equal(d[1], e[1])


def test_splitter_seeds_follow_sklearn_conventions():
    y = labels(np.random.default_rng(12), 600, GEOMETRIC[:5])
    cv = MultilabelStratifiedShuffleSplit(n_splits=3, test_size=0.3, random_state=0)
    first = [test for _, test in cv.split(y, y)]
    again = [test for _, test in cv.split(y, y)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], first[1])  # successive splits differ
    state = np.random.RandomState(0)
    cv = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=0.3, random_state=state)
    one, two = next(cv.split(y, y))[1], next(cv.split(y, y))[1]
    assert not np.array_equal(one, two)  # a RandomState instance advances
    kf = MultilabelStratifiedKFold(4, shuffle=True, random_state=np.random.default_rng(1))
    assert len(quiet(list, kf.split(y, y))) == 4
    plain = [t for _, t in quiet(list, MultilabelStratifiedKFold(4).split(y, y))]
    assert all(np.array_equal(a, b) for a, b in zip(
        plain, [t for _, t in quiet(list, MultilabelStratifiedKFold(4).split(y, y))], strict=True
    ))


# ------------------------------------------------------------------ scikit-learn integration


def test_cross_val_score_and_grid_search():
    rng = np.random.default_rng(13)
    y, g = grouped(rng, 600, 80, [0.4, 0.2, 0.1])
    X = rng.standard_normal((600, 4)) + y @ rng.standard_normal((3, 4))
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    for cv in (
        MultilabelStratifiedKFold(3, shuffle=True, random_state=0),
        MultilabelStratifiedShuffleSplit(4, test_size=0.25, random_state=0),
    ):
        scores = cross_val_score(tree, X, y, cv=cv)
        assert scores.shape == (cv.get_n_splits(),) and np.all((scores >= 0) & (scores <= 1))
    scores = cross_val_score(tree, X, y, cv=MultilabelStratifiedGroupKFold(3), groups=g)
    assert scores.shape == (3,)
    search = GridSearchCV(tree, {"max_depth": [1, 3]}, cv=MultilabelStratifiedGroupKFold(3))
    search.fit(X, y, groups=g)
    assert search.best_params_["max_depth"] in (1, 3)
    assert check_cv(MultilabelStratifiedKFold(3)).get_n_splits() == 3


def test_repr_and_get_n_splits():
    assert repr(MultilabelStratifiedKFold(4)) == (
        "MultilabelStratifiedKFold(n_splits=4, random_state=None, shuffle=False)"
    )
    assert "MultilabelStratifiedGroupKFold(n_splits=5" in repr(MultilabelStratifiedGroupKFold())
    cv = MultilabelStratifiedShuffleSplit(7, test_size=0.2, random_state=1)
    assert cv.get_n_splits() == 7 and cv.get_n_splits(np.zeros(3), None, None) == 7
    assert "test_size=0.2" in repr(cv)


# ------------------------------------------------------------------ input handling


def test_input_types():
    rng = np.random.default_rng(14)
    y = labels(rng, 300, [0.3, 0.1, 0.05], empty_label=True)
    y[:20] = 0  # rows without labels
    X = rng.standard_normal((300, 2))
    expected = multilabel_train_test_split(X, y=y, random_state=0)
    for y_variant in (y.astype(bool), y.astype(float), y.tolist(), sp.csr_matrix(y),
                      pd.DataFrame(y), pd.DataFrame(y).astype("Int64"), np.asfortranarray(y),
                      y.astype(np.uint8)):
        got = multilabel_train_test_split(X, y=y_variant, random_state=0)
        np.testing.assert_array_equal(got[1], expected[1])
    X_train, X_test = multilabel_train_test_split(sp.csr_matrix(X), y=y, random_state=0)
    assert sp.issparse(X_train) and X_train.shape[0] + X_test.shape[0] == 300
    # one label as a 1-D vector
    train, test = multilabel_train_test_split(
        np.arange(300), y=y[:, 0], test_size=0.2, random_state=0
    )
    assert abs(y[test, 0].sum() - 0.2 * y[:, 0].sum()) <= 1
    # no positives at all: a plain split of the right size
    train, test = multilabel_train_test_split(
        np.arange(300), y=np.zeros((300, 2)), test_size=0.2, random_state=0
    )
    assert len(test) == 60


def test_any_dtype_byte_order_and_layout_gives_the_same_splits():
    rng = np.random.default_rng(17)
    y, g = grouped(rng, 400, 50, [0.3, 0.1, 0.05, 0.02])
    y = y.astype(np.uint8)
    frozen = y.copy()
    frozen.setflags(write=False)

    def splits(labels):
        out = [multilabel_train_test_split(np.arange(400), y=labels, random_state=0)[1]]
        out.append(multilabel_train_test_split(
            np.arange(400), y=labels, groups=g, test_size=0.2, min_test_positives=[1, 2, 1, 1],
            random_state=0,
        )[1])
        for cv, groups in [
            (MultilabelStratifiedKFold(3, shuffle=True, random_state=0), None),
            (MultilabelStratifiedShuffleSplit(2, test_size=0.3, random_state=0), None),
            (MultilabelStratifiedShuffleSplit(2, test_size=0.3, random_state=0), g),
            (MultilabelStratifiedGroupKFold(3, shuffle=True, random_state=0), g),
        ]:
            out += [test for _, test in cv.split(None, labels, groups)]
        return out

    want = splits(y)
    frame = pd.DataFrame(y)
    variants = {
        ">i8": y.astype(">i8"), ">f8": y.astype(">f8"), ">u4": y.astype(">u4"),
        "float16": y.astype(np.float16), "longdouble": y.astype(np.longdouble),
        "bool": y.astype(bool), "int8": y.astype(np.int8), "fortran": np.asfortranarray(y),
        "fortran >f8": np.asfortranarray(y.astype(">f8")), "read-only": frozen,
        "strided": np.repeat(y, 2, axis=1)[:, ::2], "strided rows": np.repeat(y, 2, axis=0)[::2],
        "Int64": frame.astype("Int64"), "boolean": frame.astype("boolean"),
        "Float64": frame.astype("Float64"), "UInt8": frame.astype("UInt8"),
        "sparse longdouble": sp.csr_matrix(y.astype(np.longdouble)),
        "sparse bool": sp.csc_array(y.astype(bool)),
    }
    for name, v in variants.items():
        got = splits(v)
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert not frozen.flags.writeable
    # missing values are refused, with a plain message
    with_na = frame.astype("Int64")
    with_na.iloc[3, 1] = pd.NA
    with pytest.raises(ValueError, match="missing values"):
        multilabel_train_test_split(np.arange(400), y=with_na)
    with pytest.raises(ValueError, match="missing values"):
        next(MultilabelStratifiedKFold(3).split(None, with_na))
    with pytest.raises(ValueError, match="multilabel-indicator"):
        multilabel_train_test_split(np.arange(400), y=y.astype(np.complex128))
    # a sparse y of complex numbers is refused as the dense one is
    with pytest.raises(ValueError, match="multilabel-indicator.*got dtype complex128"):
        multilabel_train_test_split(np.arange(400), y=sp.csr_matrix(y.astype(np.complex128)))


@pytest.mark.gpu
def test_cupy_labels_and_groups_are_split_on_the_host():
    cp = pytest.importorskip("cupy")
    y, g = grouped(np.random.default_rng(15), 500, 60, [0.3, 0.1, 0.05])
    expected = multilabel_train_test_split(np.arange(500), y=y, groups=g, random_state=0)
    got = multilabel_train_test_split(
        np.arange(500), y=cp.asarray(y), groups=cp.asarray(g), random_state=0
    )
    np.testing.assert_array_equal(got[1], expected[1])


def test_small_edge_cases():
    y = np.array([[1, 0], [0, 1]])
    train, test = multilabel_train_test_split(np.arange(2), y=y, test_size=0.5, random_state=0)
    assert len(train) == len(test) == 1
    folds = quiet(list, MultilabelStratifiedKFold(2).split(None, y))
    assert [len(t) for _, t in folds] == [1, 1]
    # two groups of very different sizes: both sides non-empty
    y = np.zeros((10, 1), int)
    for groups, test_size in [([0] * 9 + [1], 0.5), ([1] + [0] * 9, 0.5)]:
        train, test = multilabel_train_test_split(
            np.arange(10), y=y, groups=groups, test_size=test_size
        )
        assert len(train) and len(test)
    groups = [0] * 5 + [1] * 5
    train, test = multilabel_train_test_split(np.arange(10), y=y, groups=groups, test_size=0.1)
    assert len(train) == len(test) == 5


# ------------------------------------------------------------------ validation errors


@pytest.mark.filterwarnings("ignore:.*fewer than n_splits")
def test_kfold_parameter_errors():
    with pytest.raises(ValueError, match="Integral"):
        MultilabelStratifiedKFold(2.5)
    with pytest.raises(ValueError, match="n_splits=2 or more"):
        MultilabelStratifiedKFold(1)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        MultilabelStratifiedKFold(3, shuffle=1)
    with pytest.raises(ValueError, match="random_state has no effect"):
        MultilabelStratifiedGroupKFold(3, random_state=0)
    y = np.eye(3, dtype=int)
    with pytest.raises(ValueError, match="greater than the number of samples"):
        next(MultilabelStratifiedKFold(4).split(None, y))
    with pytest.raises(ValueError, match="greater than the number of groups"):
        next(MultilabelStratifiedGroupKFold(3).split(None, y, [0, 0, 1]))
    with pytest.raises(ValueError, match="'groups' parameter should not be None"):
        next(MultilabelStratifiedGroupKFold(2).split(None, y))
    with pytest.warns(UserWarning, match="groups parameter is ignored"):
        quiet_list = list(MultilabelStratifiedKFold(3).split(None, y, [0, 1, 2]))
    assert len(quiet_list) == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"test_size": 1.5}, "test_size=1.5"),
        ({"test_size": 0.0}, "test_size=0.0"),
        ({"test_size": 100}, "test_size=100"),
        ({"test_size": -1}, "test_size=-1"),
        ({"test_size": "a"}, "Invalid value for test_size"),
        ({"train_size": 1.0}, "train_size=1.0"),
        ({"train_size": 0.7, "test_size": 0.5}, "must not exceed 1"),
        ({"train_size": 6, "test_size": 5}, "more than the 10 samples"),
        ({"test_size": 0.99}, "train set would be empty"),
        ({"min_test_positives": -1}, "must be >= 0"),
        ({"min_test_positives": 1.5}, r"in \(0, 1\]"),
        ({"min_test_positives": [1, 2, 3]}, "one value per label"),
    ],
)
def test_train_test_split_value_errors(kwargs, match):
    y = np.array([[1, 0]] * 5 + [[0, 1]] * 5)
    with pytest.raises(ValueError, match=match):
        multilabel_train_test_split(np.arange(10), y=y, **kwargs)
    if "min_test_positives" not in kwargs:
        cv = MultilabelStratifiedShuffleSplit(2, **kwargs)
        with pytest.raises(ValueError, match=match):
            next(cv.split(None, y))


def test_target_and_length_errors():
    X = np.arange(10)
    with pytest.raises(ValueError, match="At least one array"):
        multilabel_train_test_split(y=np.ones((3, 1)))
    with pytest.raises(ValueError, match="multilabel-indicator"):
        multilabel_train_test_split(X, y=np.arange(10) % 3)
    with pytest.raises(ValueError, match="multilabel-indicator"):
        multilabel_train_test_split(X, y=np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="multilabel-indicator"):
        multilabel_train_test_split(X, y=np.array(["a"] * 10))
    with pytest.raises(ValueError, match="multilabel-indicator"):
        multilabel_train_test_split(X, y=sp.csr_matrix(np.full((10, 2), 2)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        multilabel_train_test_split(X, y=np.ones((9, 2)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        multilabel_train_test_split(X, y=np.ones((10, 2)), groups=np.arange(9))
    with pytest.raises(ValueError, match="at least 2 groups"):
        multilabel_train_test_split(X, y=np.ones((10, 2)), groups=np.zeros(10))
    with pytest.raises(ValueError, match="y is required"):
        next(MultilabelStratifiedKFold(2).split(X, None))
    with pytest.raises(TypeError, match="not bool"):
        multilabel_train_test_split(X, y=np.ones((10, 2)), min_test_positives=True)


def test_least_populated_label_warning():
    y = np.zeros((20, 2), int)
    y[:2, 1] = 1
    y[::2, 0] = 1
    with pytest.warns(UserWarning, match="fewer than n_splits=5"):
        list(MultilabelStratifiedKFold(5).split(None, y))


# ------------------------------------------------------------- threads, blocks and fork safety


@pytest.mark.parametrize("n_threads", [1, 2])
def test_row_csr_matches_nonzero_over_blocks(threads, n_threads):
    threads(n_threads)
    rng = np.random.default_rng(7)
    y = (rng.random((60_000, 21)) < 0.1).astype(np.uint8)  # several blocks of rows
    y[5] = 0
    y[9] = 1
    y[1000, 3] = 7  # any nonzero byte is a positive
    indptr, lab = split_cpu.row_csr(y)
    rows, cols = np.nonzero(y)
    assert indptr.dtype == np.int64 and lab.dtype == np.int32
    np.testing.assert_array_equal(indptr, np.r_[0, np.cumsum(np.count_nonzero(y, axis=1))])
    np.testing.assert_array_equal(lab, cols)
    empty = split_cpu.row_csr(np.zeros((4, 0), np.uint8))
    np.testing.assert_array_equal(empty[0], np.zeros(5, np.int64))
    assert empty[1].shape == (0,)


def _split_calls(seed):
    rng = np.random.default_rng(seed)
    y = labels(rng, 40_000, GEOMETRIC * 0.5 + 0.01).astype(bool)
    groups = rng.integers(0, 8_000, len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kfold = MultilabelStratifiedGroupKFold(4, shuffle=True, random_state=seed)
        out = [test for _, test in kfold.split(None, y, groups)]
        out += list(multilabel_train_test_split(
            np.arange(len(y)), y=y, test_size=0.2, min_test_positives=3, random_state=seed,
        ))
        out += [test for _, test in MultilabelStratifiedKFold(3).split(None, y)]
    return out


def test_identical_for_any_thread_count(threads):
    results = []
    for k in (1, 2, 3):
        threads(k)
        results.append(_split_calls(5))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_fork_child_after_parent_call(threads):
    import multiprocessing as mp

    threads(2)
    expected = [sum(int(a.sum()) for a in _split_calls(s)) for s in range(2)]
    with mp.get_context("fork").Pool(2) as pool:
        result = pool.map_async(_fork_probe, range(2))
        assert result.get(timeout=120) == expected


def _fork_probe(seed):
    return sum(int(a.sum()) for a in _split_calls(seed))
