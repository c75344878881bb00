"""Benchmarks of ``fastml.leakage`` against the usual ways to find shared IDs.

Run with ``benches/run.py`` (see its docstring). Each case times one reference and fastml on
the same inputs in the same run (entries ``...-reference`` then ``...-fastml``):

- ``leakage`` vs the set expression ``len(set(df1[c].unique()) & set(df2[c].unique())) >= 1``
  on a clean split (no shared ID, so neither side can stop early);
- ``shared_ids`` vs ``np.intersect1d`` (int64 only);
- ``overlap_mask(big, small)`` vs pandas ``big.isin(small)``, polars
  ``big.is_in(small.implode())``, and the number of big-side rows with a shared ID vs DuckDB
  (``count(*) ... WHERE id IN (SELECT id FROM small)`` over the same Arrow data); polars and
  DuckDB cases are skipped when those are not installed.

IDs: int64 from a range (a permutation; the big side unique or each ID drawn about 5 times),
int64 spread at random over +-2**62 ("int64 sparse": no dense-range shortcut for anyone), and
strings "P000123456" as a pandas ``str`` column (Arrow-backed). In the overlapping inputs 10%
of the small side's distinct IDs also occur in the big side. The table's "prevalence" column
says whether IDs are unique or repeated.

Peak memory: ``python benches/bench_leakage.py memory BIG SMALL`` prints, for each fastml
function, the peak resident memory above the inputs, measured in a fresh interpreter.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass

import numpy as np
import pytest

# ------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Shape:
    big: int
    small: int
    ids: str = "int64"  # "int64" (a dense range), "int64 sparse" (random 63-bit) or "string"
    repeat: int = 1  # each ID drawn about this many times

    @property
    def id(self) -> str:
        kind = self.ids.replace(" ", "_")
        return f"{kind}-{self.big}x{self.small}" + (f"-r{self.repeat}" if self.repeat > 1
                                                      else "")

    @property
    def text(self) -> str:
        return f"{self.big:,} vs {self.small:,} {self.ids}"

    @property
    def prevalence(self) -> str:  # the runner's third column: how often an ID occurs
        return "unique" if self.repeat == 1 else f"~{self.repeat}x repeats"


SHAPES = {
    "tiny": [Shape(10_000, 2_000), Shape(10_000, 2_000, repeat=5),
             Shape(10_000, 2_000, "string")],
    "default": [Shape(1_000_000, 200_000), Shape(1_000_000, 200_000, repeat=5),
                Shape(1_000_000, 200_000, "int64 sparse"), Shape(1_000_000, 200_000, "string")],
    "full": [
        Shape(10_000_000, 2_000_000),
        Shape(10_000_000, 2_000_000, repeat=5),
        Shape(100_000_000, 20_000_000),
        Shape(100_000_000, 20_000_000, repeat=5),
        Shape(10_000_000, 2_000_000, "int64 sparse"),
        Shape(100_000_000, 20_000_000, "int64 sparse"),
        Shape(10_000_000, 2_000_000, "string"),
    ],
}


@functools.lru_cache(maxsize=2)
def id_arrays(shape: Shape, overlap: bool) -> tuple[np.ndarray, np.ndarray]:
    """(big, small) int64 IDs. Big-side IDs are 0 mod 3, small-side IDs 1 mod 3 (so no ID is
    shared) except, with ``overlap``, 10% of the small side's distinct IDs taken from the
    big side."""
    sparse = shape.ids == "int64 sparse"
    rng = np.random.default_rng([shape.big, shape.small, shape.repeat, overlap, sparse])
    n_big, n_small = shape.big // shape.repeat, shape.small // shape.repeat
    if sparse:  # random over +-2**62 (repeats negligible), still 0 and 1 mod 3
        big_ids = rng.integers(-(2**61), 2**61, n_big) * 3
        small_ids = rng.integers(-(2**61), 2**61, n_small) * 3 + 1
    else:  # a permutation of a range: the IDs of a table numbered from 0
        big_ids = rng.permutation(n_big).astype(np.int64) * 3
        small_ids = rng.permutation(n_small).astype(np.int64) * 3 + 1
    if overlap:
        k = n_small // 10
        small_ids[:k] = big_ids[rng.integers(0, n_big, k)]
        rng.shuffle(small_ids)
    if shape.repeat == 1:
        return big_ids, small_ids
    return (big_ids[rng.integers(0, n_big, shape.big)],
            small_ids[rng.integers(0, n_small, shape.small)])


def as_strings(ids: np.ndarray):
    """IDs as "P000123456" strings in a pandas ``str`` Series."""
    import pandas as pd

    text = np.strings.add("P", np.strings.zfill(ids.astype("U9"), 9))
    return pd.Series(text, dtype="str")


@functools.lru_cache(maxsize=1)
def inputs(shape: Shape, overlap: bool, form: str):
    """(big, small) in the form a case takes: "array", "series", "frame", "polars",
    "arrow"."""
    import pandas as pd

    big, small = id_arrays(shape, overlap)
    if shape.ids == "string":
        big, small = as_strings(big), as_strings(small)
    if form == "array":
        return big, small
    if form == "series":
        return pd.Series(big), pd.Series(small)
    if form == "frame":
        return pd.DataFrame({"Patient ID": big}), pd.DataFrame({"Patient ID": small})
    if form == "polars":
        import polars as pl

        return pl.Series("id", big), pl.Series("id", small)
    if form == "arrow":
        import pyarrow as pa

        return pa.chunked_array([pa.array(big)]), pa.chunked_array([pa.array(small)])
    raise ValueError(form)


def head(x, k: int):
    if hasattr(x, "iloc"):
        return x.iloc[:k]
    if type(x).__module__.startswith("pyarrow"):
        return x.slice(0, k)
    return x[:k]


# ------------------------------------------------------------------------------- cases


def set_expression(df1, df2, col="Patient ID"):
    return len(set(df1[col].unique()) & set(df2[col].unique())) >= 1


def fastml_leakage(df1, df2, col="Patient ID"):
    from fastml.leakage import leakage

    return leakage(df1, df2, col)


def fastml_shared(big, small):
    from fastml.leakage import shared_ids

    return shared_ids(big, small)


def fastml_mask(big, small):
    from fastml.leakage import overlap_mask

    return overlap_mask(big, small)


def fastml_count(big, small):
    from fastml.leakage import overlap_mask

    return int(np.count_nonzero(overlap_mask(big, small)))


def pandas_isin(big, small):
    return big.isin(small).to_numpy()


def polars_is_in(big, small):
    return big.is_in(small.implode()).to_numpy()


class DuckDBCount:
    """Rows of ``big`` whose ID occurs in ``small``, by DuckDB over the same Arrow arrays."""

    def __init__(self):
        import duckdb

        self.con = duckdb.connect()

    def __call__(self, big, small):
        import pyarrow as pa

        self.con.register("big", pa.table({"id": big}))
        self.con.register("small", pa.table({"id": small}))
        query = "SELECT count(*) FROM big WHERE id IN (SELECT id FROM small)"
        return self.con.execute(query).fetchall()[0][0]


@dataclass(frozen=True)
class Case:
    name: str
    reference: str  # attribute of this module, or "duckdb"
    fastml: str
    form: str
    overlap: bool
    ids: tuple[str, ...] = ("int64", "int64 sparse", "string")
    needs: str | None = None


CASES = [
    Case("leakage vs set expression (clean split)", "set_expression", "fastml_leakage",
         "frame", overlap=False),
    Case("shared_ids vs np.intersect1d", "intersect1d", "fastml_shared", "array", True,
         ids=("int64", "int64 sparse")),
    Case("overlap_mask vs pandas isin", "pandas_isin", "fastml_mask", "series", True),
    Case("overlap_mask vs polars is_in", "polars_is_in", "fastml_mask", "polars", True,
         needs="polars"),
    Case("rows with shared IDs vs DuckDB", "duckdb", "fastml_count", "arrow", True,
         needs="duckdb"),
]


def pytest_generate_tests(metafunc):
    shapes = SHAPES[metafunc.config.getoption("sizes")]
    metafunc.parametrize(
        ("case", "shape", "impl"),
        [
            pytest.param(case, shape, impl, id=f"{case.fastml}-{case.reference}-{shape.id}-{impl}")
            for case in CASES
            for shape in shapes
            if shape.ids in case.ids
            for impl in ("reference", "fastml")
        ],
    )


def _function(name: str):
    if name == "intersect1d":
        return np.intersect1d
    if name == "duckdb":
        return DuckDBCount()
    return globals()[name]


def test_leakage(timed, case, shape, impl):
    if case.needs:
        pytest.importorskip(case.needs)
    pytest.importorskip("pandas")
    if case.form == "arrow":
        pytest.importorskip("pyarrow")
    big, small = inputs(shape, case.overlap, case.form)
    k = max(1_000, shape.big // 100)
    probe = (head(big, k), head(small, max(1, k * shape.small // shape.big)))
    fn = _function(case.reference if impl == "reference" else case.fastml)
    result = timed(impl, fn, (big, small), probe, shape.big / k, case=case.name, shape=shape)
    if case.fastml == "fastml_leakage":
        assert not result  # a clean split


# ------------------------------------------------------------------------- peak memory


def _memory(big_n: int, small_n: int) -> None:
    """Peak memory each fastml function allocates above its inputs, by ``tracemalloc``
    (NumPy reports its buffers to it; the kernels' own scratch is per block, a few hundred
    KiB a thread)."""
    import json
    import tracemalloc

    from fastml.leakage import has_leakage, leakage_report, overlap_mask, shared_ids

    big, small = id_arrays(Shape(big_n, small_n), True)
    clean = small * 3 + 1  # 1 mod 3: shares nothing with the big side (0 mod 3)
    has_leakage(big[:1000], small[:1000])  # first-use costs (imports)
    out = {}
    tracemalloc.start()
    for name, call in [
        ("has_leakage (clean split)", functools.partial(has_leakage, big, clean)),
        ("shared_ids", functools.partial(shared_ids, big, small)),
        ("overlap_mask", functools.partial(overlap_mask, big, small)),
        ("leakage_report", functools.partial(leakage_report, big=big, small=small)),
    ]:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = call()
        out[name] = round((tracemalloc.get_traced_memory()[1] - before) / 2**20, 1)
        del result
    tracemalloc.stop()
    inputs_mib = (big.nbytes + small.nbytes) / 2**20
    print(json.dumps({"big": big_n, "small": small_n, "inputs_MiB": round(inputs_mib, 1),
                      "peak_extra_MiB": out}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "memory":
        _memory(int(sys.argv[2]), int(sys.argv[3]))
    else:
        print(__doc__)
