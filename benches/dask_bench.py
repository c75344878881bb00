"""Dask benchmarks: fastml on Dask collections against Dask's own idioms, on a LocalCluster.

    python benches/dask_bench.py            leakage 10^7 vs 2x10^6 IDs, macro AP 10^6 x 20
    python benches/dask_bench.py --small    a tenth of the sizes (a smoke run)

Run by ``benches/run.py --dask`` (off by default: it takes a few minutes). Prints one table;
every fastml result is checked against the reference's before its time is reported.
Each timing is the best of ``--repeat`` runs (default 2) on a 2-worker, 1-thread-each
``distributed.LocalCluster``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _best(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _leakage_cases(n_big: int, n_small: int, npart: int):
    import dask.dataframe as dd
    import pandas as pd

    rng = np.random.default_rng(0)
    big = rng.integers(-(2**62), 2**62, n_big)
    small = np.concatenate([rng.integers(-(2**62), 2**62, n_small - 10), big[:: n_big // 10]])
    a = dd.from_pandas(pd.DataFrame({"id": big}), npartitions=npart).persist()
    b = dd.from_pandas(pd.DataFrame({"id": small}), npartitions=max(1, npart // 5)).persist()
    return a, b


def run(small: bool, repeat: int) -> list[tuple]:
    import dask.array as da
    import distributed

    from fastml.leakage import has_leakage, shared_ids
    from fastml.metrics import average_precision_score

    scale = 10 if small else 1
    rows = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        n_big, n_small = 10**7 // scale, 2 * 10**6 // scale
        a, b = _leakage_cases(n_big, n_small, 20)
        distributed.wait([a, b])  # loaded before any timing: the first case timed pays no load
        shape = f"{n_big:,} vs {n_small:,} int64"
        t_fast, ids = _best(lambda: shared_ids(a["id"], b["id"]), repeat)
        t_merge, ref = _best(
            lambda: a.merge(b, on="id", how="leftsemi")["id"].compute(), repeat)
        assert np.array_equal(np.sort(ids), np.unique(ref.to_numpy()))
        rows.append(("shared IDs vs merge(how='leftsemi')", shape, t_merge, t_fast))
        t_isin, ref2 = _best(
            lambda: a["id"][a["id"].isin(b["id"].compute())].compute(), repeat)
        assert np.array_equal(np.sort(ids), np.unique(ref2.to_numpy()))
        rows.append(("shared IDs vs isin(other.compute())", shape, t_isin, t_fast))
        t_has, hit = _best(lambda: has_leakage(a["id"], b["id"]), repeat)
        assert hit == (len(ids) > 0)
        rows.append(("has_leakage vs merge(how='leftsemi')", shape, t_merge, t_has))

        n, k = 10**6 // scale, 20
        rng = np.random.default_rng(1)
        y = (rng.random((n, k)) < 0.05).astype(np.int8)
        s = y + rng.standard_normal((n, k)).astype(np.float64)
        dy = da.from_array(y, chunks=(n // 8, k)).persist()
        ds = da.from_array(s, chunks=(n // 8, k)).persist()
        distributed.wait([dy, ds])  # loaded before timing
        t_gather, ref3 = _best(
            lambda: average_precision_score(dy.compute(), ds.compute()), repeat)
        try:
            t_ap, got = _best(lambda: average_precision_score(dy, ds), repeat)
            assert abs(got - ref3) <= 1e-12
            rows.append(("macro AP vs .compute() + in memory", f"{n:,} x {k}", t_gather, t_ap))
        except Exception as exc:  # the Dask AP path is not there yet
            rows.append(("macro AP vs .compute() + in memory", f"{n:,} x {k}", t_gather,
                         f"not run: {type(exc).__name__}"))
    return rows


def table(rows) -> str:
    lines = ["## dask (LocalCluster, 2 worker processes x 1 thread)\n",
             "| case | shape | reference | fastml | speedup |", "|---|---|---:|---:|---:|"]
    for case, shape, ref, fast in rows:
        if isinstance(fast, str):
            lines.append(f"| {case} | {shape} | {ref:.3g} s | {fast} | - |")
        else:
            lines.append(f"| {case} | {shape} | {ref:.3g} s | {fast:.3g} s | {ref / fast:.1f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    print(table(run(args.small, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
