"""Benchmarks of ``fastml.resample`` against its slow twins (``benches/_resample_refs.py``).

Run with ``benches/run.py`` (see its docstring). Cases, each two entries (reference, fastml)
on the same inputs:

- MLSMOTE vs the paper-faithful reference: per minority label a scikit-learn
  ``NearestNeighbors`` over the label's rows, then a Python loop over the seeds with NumPy.
  Twice: with scikit-learn's neighbour search on one OpenMP thread (its fastest setting on
  a busy machine, where every OpenMP region of the default threads can cost ~0.1 s to
  start), and on its default threads.
- MLSMOTE vs the per-sample tutorial style: one kd-tree over all rows having any minority
  label, a Python loop per synthetic row with pandas row lookups, asked for as many rows as
  fastml makes.
- ``imbalance_report`` vs a direct NumPy computation of the same measures.

Inputs (``_resample_refs.make_data``): float64 features, Gaussian noise plus a random shift
per label a row has; int64 0/1 labels with Zipf-like prevalences from 40% down to 1%; fixed
seeds. MLSMOTE with k = 5, label_strategy="ranking", one synthetic row per (label, seed).

Random output is not compared value by value: the entries of the MLSMOTE cases return
nothing, and the check column says instead whether the two sides made the same number of
rows and (paper case) found the same neighbour sets, and fastml's peak memory above its
inputs and output (tracemalloc, one extra call).
"""

from __future__ import annotations

import functools
import tracemalloc
from dataclasses import dataclass

import pytest
from threadpoolctl import threadpool_limits

import fastml.resample
from fastml.slow.resample import imbalance_numpy, make_data, mlsmote_paper, mlsmote_rowloop

pytestmark = pytest.mark.filterwarnings("ignore")
K = 5


@dataclass(frozen=True)
class ResampleShape:
    rows: int
    features: int = 50
    labels: int = 20
    prevalence: str = "zipf 40%-1%"

    @property
    def id(self) -> str:
        return f"{self.rows}x{self.features}x{self.labels}"

    @property
    def text(self) -> str:
        return f"{self.rows:,} x {self.features}, {self.labels} labels"


CASES = {
    "paper": f"MLSMOTE(k={K}) vs paper-faithful NumPy + sklearn NearestNeighbors "
    "(sklearn on 1 OpenMP thread)",
    "paper-threads": f"MLSMOTE(k={K}) vs paper-faithful NumPy + sklearn NearestNeighbors "
    "(sklearn on default OpenMP threads)",
    "rowloop": f"MLSMOTE(k={K}) vs per-sample loop (pandas rows, one kd-tree)",
    "report": "imbalance_report vs direct NumPy",
}
_SMALL, _LARGE, _HUGE = ResampleShape(10_000), ResampleShape(100_000), ResampleShape(1_000_000)
SHAPES = {
    "tiny": {
        "paper": [ResampleShape(2_000)], "paper-threads": [ResampleShape(2_000)],
        "rowloop": [ResampleShape(2_000)], "report": [_SMALL],
    },
    "default": {
        "paper": [_SMALL], "paper-threads": [_SMALL], "rowloop": [_SMALL],
        "report": [_SMALL, _LARGE],
    },
    "full": {
        "paper": [_SMALL, _LARGE], "paper-threads": [_SMALL, _LARGE],
        "rowloop": [_SMALL, _LARGE], "report": [_LARGE, _HUGE],
    },
}


def pytest_generate_tests(metafunc):
    shapes = SHAPES[metafunc.config.getoption("sizes")]
    metafunc.parametrize(
        ("case", "shape", "impl"),
        [
            pytest.param(case, shape, impl, id=f"{case}-{shape.id}-{impl}")
            for case in CASES
            for shape in shapes[case]
            for impl in ("reference", "fastml")
        ],
    )


@functools.lru_cache(maxsize=2)
def inputs(shape: ResampleShape):
    return make_data(shape.rows, shape.features, shape.labels)


@functools.lru_cache(maxsize=2)
def frames(shape: ResampleShape):
    import pandas as pd

    X, Y = inputs(shape)
    return (
        pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]),
        pd.DataFrame(Y, columns=[f"y{j}" for j in range(Y.shape[1])]),
    )


def fastml_mlsmote(X, Y):
    return fastml.resample.MLSMOTE(k_neighbors=K, random_state=0).fit_resample(X, Y)


def peak_memory(X, Y) -> str:
    """fastml's peak traced memory above its inputs and its output, in MiB."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        X_res, Y_res = fastml_mlsmote(X, Y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out = X_res.nbytes + Y_res.nbytes
    return f"peak {max(peak - out, 0) / 2**20:.1f} MiB above its output ({out / 2**20:.0f} MiB)"


_seen: dict = {}  # (case, shape) -> what the reference made, for the fastml entry's check


def test_resample(timed, benchmark, case, shape, impl):
    X, Y = inputs(shape)
    m = max(500, shape.rows // 10)  # rows of the warm-up probe
    key = (case, shape.id)
    label = CASES[case]
    if case == "report":
        if impl == "reference":
            fn = imbalance_numpy
        else:

            def fn(Y):
                r = fastml.resample.imbalance_report(Y)
                return (
                    r.count, r.prevalence, r.irlbl, r.scumble_label,
                    r.mean_ir, r.max_ir, r.cvir, r.scumble,
                )

        timed(impl, fn, (Y,), (Y[:m],), shape.rows / m, case=label, shape=shape)
        return

    made: list = []
    if impl == "fastml":

        def run(X, Y):
            made[:] = [fastml_mlsmote(X, Y)]

        args, probe = (X, Y), (X[:m], Y[:m])
    elif case.startswith("paper"):
        threads = None if case == "paper-threads" else 1

        def run(X, Y):
            with threadpool_limits(limits=threads, user_api="openmp"):
                made[:] = [mlsmote_paper(X, Y, k_neighbors=K)]

        args, probe = (X, Y), (X[:m], Y[:m])
    else:
        n_new = len(fastml_mlsmote(X, Y)[0]) - len(X)
        Xf, Yf = frames(shape)

        def run(X, Y, n_new=n_new):
            made[:] = [mlsmote_rowloop(X, Y, n_new, k_neighbors=K)]

        args, probe = (Xf, Yf), (Xf.iloc[:m], Yf.iloc[:m], max(1, n_new // 10))
    timed(impl, run, args, probe, shape.rows / m, case=label, shape=shape)

    if impl == "reference":
        result = made[0]
        _seen[key] = result
        rows = len(result.X) if case.startswith("paper") else len(result[0])
        benchmark.extra_info["check"] = f"reference: {rows:,} rows"
        return
    X_res, _ = made[0]
    text = f"{len(X_res):,} rows"
    ref = _seen.pop(key, None)
    if ref is not None and case.startswith("paper"):
        sampler = fastml.resample.MLSMOTE(k_neighbors=K, random_state=0)
        sampler.fit_resample(X, Y)
        same = sum(
            set(a[a >= 0].tolist()) == set(b.tolist())
            for a, b in zip(sampler.neighbors_, ref.neighbors, strict=True)
        )
        text += f" vs {len(ref.X):,}; same neighbour sets {same:,}/{len(ref.neighbors):,}"
    elif ref is not None:
        text += f" vs {len(ref[0]):,}"
    benchmark.extra_info["check"] = f"{text}; {peak_memory(X, Y)}"
