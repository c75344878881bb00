"""Benchmarks of ``fastml.split`` against ``iterative-stratification`` (iterstrat).

Run with ``benches/run.py`` (see its docstring). Each case is two entries, ``...-reference``
then ``...-fastml``, on the same label matrix; cases with groups have no reference (iterstrat
does not know groups) and time fastml alone.

Inputs: bool label matrices, every label at 5% (`5%`) or the 14 chest-X-ray-like
prevalences of ``_inputs`` (`cxr`), each label with at least one positive; groups: uniform
random group ids. Fixed seeds.

Splits are random, so the two sides' results are not compared for equality: the entries
return nothing and the table's check column reports instead how evenly each side spread the
labels: the largest deviation, over labels (and folds), of a label's positives in a test set
from the share of its positives that the test set's size calls for, in positives and as a
fraction of the label's positives.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pytest
from _inputs import CXR_PREVALENCE, POSITIVE_RATE
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold as RefKFold
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit as RefShuffleSplit

import fastml.split

pytestmark = pytest.mark.filterwarnings("ignore")
TEST_SIZE = 0.2
N_FOLDS = 5


@dataclass(frozen=True)
class SplitShape:
    """``rows`` x ``labels`` label matrix, optionally with ``groups`` groups of rows."""

    rows: int
    labels: int
    prevalence: str = "5%"  # "5%" or "cxr"
    groups: int = 0

    @property
    def id(self) -> str:
        dims = f"{self.rows}x{self.labels}" + ("-cxr" if self.prevalence == "cxr" else "")
        return dims + (f"-{self.groups}g" if self.groups else "")

    @property
    def text(self) -> str:
        dims = f"{self.rows:,} x {self.labels}"
        return dims + (f", {self.groups:,} groups" if self.groups else "")


@dataclass(frozen=True)
class Case:
    name: str  # "shuffle": one train/test split; "kfold": all folds
    grouped: bool = False

    @property
    def label(self) -> str:
        if self.name == "shuffle":
            return f"MultilabelStratifiedShuffleSplit(test_size={TEST_SIZE})" + (
                " with groups" if self.grouped else ""
            )
        return f"MultilabelStratified{'Group' if self.grouped else ''}KFold(n_splits={N_FOLDS})"


CASES = [Case("shuffle"), Case("kfold"), Case("shuffle", grouped=True), Case("kfold", True)]

SHAPES = {
    "tiny": {
        "plain": [SplitShape(3_000, 20), SplitShape(3_000, 14, "cxr")],
        "grouped": [SplitShape(3_000, 20, groups=600)],
    },
    "default": {
        "plain": [SplitShape(100_000, 20), SplitShape(100_000, 14, "cxr")],
        "grouped": [SplitShape(100_000, 20, groups=20_000)],
    },
    "full": {
        "plain": [SplitShape(1_000_000, 20), SplitShape(100_000, 200), SplitShape(100_000, 100)],
        "grouped": [
            SplitShape(1_000_000, 100, groups=100_000),
            SplitShape(1_000_000, 14, "cxr", groups=100_000),
        ],
    },
}


def pytest_generate_tests(metafunc):
    shapes = SHAPES[metafunc.config.getoption("sizes")]
    params = []
    for case in CASES:
        impls = ("fastml",) if case.grouped else ("reference", "fastml")
        for shape in shapes["grouped" if case.grouped else "plain"]:
            for impl in impls:
                params.append(pytest.param(case, shape, impl, id=f"{case.name}-{shape.id}-{impl}"))
    metafunc.parametrize(("case", "shape", "impl"), params)


@functools.lru_cache(maxsize=1)
def inputs(shape: SplitShape) -> tuple[np.ndarray, np.ndarray | None]:
    """``(y, groups)``: bool labels (every label with a positive), int64 group ids or None."""
    seed = [shape.rows, shape.labels, shape.groups, shape.prevalence == "cxr"]
    rng = np.random.default_rng(seed)
    prevalence = (
        CXR_PREVALENCE if shape.prevalence == "cxr" else np.full(shape.labels, POSITIVE_RATE)
    )
    y = np.empty((shape.rows, shape.labels), bool)
    for j, p in enumerate(prevalence):  # column by column: no (rows x labels) float temporary
        y[:, j] = rng.random(shape.rows) < p
    empty = np.flatnonzero(~y.any(axis=0))
    y[rng.integers(0, shape.rows, size=empty.size), empty] = True
    groups = rng.integers(0, shape.groups, shape.rows) if shape.groups else None
    return y, groups


def splitter(case: Case, impl: str):
    ours = fastml.split
    if case.name == "shuffle":
        cls = RefShuffleSplit if impl == "reference" else ours.MultilabelStratifiedShuffleSplit
        return cls(n_splits=1, test_size=TEST_SIZE, random_state=0)
    if impl == "reference":
        return RefKFold(n_splits=N_FOLDS, shuffle=True, random_state=0)
    cls = ours.MultilabelStratifiedGroupKFold if case.grouped else ours.MultilabelStratifiedKFold
    return cls(n_splits=N_FOLDS, shuffle=True, random_state=0)


def spread(y: np.ndarray, folds: list) -> str:
    """The largest deviation of a label's test positives from its share (see module doc)."""
    positives = y.sum(axis=0)
    worst_count = worst_fraction = 0.0
    for _, test in folds:
        got = y[test].sum(axis=0)
        share = len(test) / len(y)
        worst_count = max(worst_count, float(np.abs(got - share * positives).max()))
        worst_fraction = max(worst_fraction, float(np.abs(got / positives - share).max()))
    return f"{worst_count:.1f} ({worst_fraction:.3%})"


_spreads: dict = {}  # (case, shape) -> the reference's spread, for the fastml entry


def test_split(timed, benchmark, case, shape, impl):
    y, groups = inputs(shape)
    m = min(shape.rows, max(1_000, shape.rows // 100))  # rows of the warm-up probe
    cv = splitter(case, impl)
    last: list = []

    def run(y, groups):
        last[:] = [list(cv.split(np.zeros((len(y), 1)), y, groups))]

    probe = (y[:m], None if groups is None else groups[:m])
    timed(impl, run, (y, groups), probe, shape.rows / m, case=case.label, shape=shape)
    folds = last[0]
    if groups is not None:
        for train, test in folds:  # group ids are 0..groups-1 here
            in_test = np.zeros(shape.groups, bool)
            in_test[groups[test]] = True
            assert not in_test[groups[train]].any(), "a group was split"
    key = (case.label, shape.id)
    if impl == "reference":
        _spreads[key] = spread(y, folds)
        benchmark.extra_info["check"] = f"label spread {_spreads[key]}"
        return
    text = f"label spread {spread(y, folds)}"
    if key in _spreads:
        text += f" vs reference {_spreads.pop(key)}"
    if case.name == "shuffle":
        text += f"; test rows {len(folds[0][1]):,} (asked {int(np.ceil(TEST_SIZE * len(y))):,})"
    benchmark.extra_info["check"] = text
