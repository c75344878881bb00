"""fastml.leakage on Dask collections equals the in-memory result, exactly."""

import numpy as np
import pytest

dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
pd = pytest.importorskip("pandas")
import dask  # noqa: E402

from fastml import leakage as lk  # noqa: E402
from fastml._dask import leakage as dlk  # noqa: E402


@pytest.fixture(autouse=True)
def _sync_scheduler():
    # convert-string off: object columns stay objects (mixed IDs reach fastml as given)
    with dask.config.set({"scheduler": "threads", "dataframe.convert-string": False}):
        yield


def _ddf(values, nparts, dtype=None):
    s = pd.Series(values, dtype=dtype)
    return dd.from_pandas(s, npartitions=nparts, sort=False)


def _same_ids(got, want):
    assert len(got) == len(want)
    assert list(got.tolist()) == list(want.tolist())


def _check_all(a_mem, b_mem, a, b):
    assert lk.has_leakage(a, b) == lk.has_leakage(a_mem, b_mem)
    _same_ids(lk.shared_ids(a, b), lk.shared_ids(a_mem, b_mem))
    mask = lk.overlap_mask(a, b)
    want = lk.overlap_mask(a_mem, b_mem)
    got = mask.compute() if hasattr(mask, "compute") else mask
    np.testing.assert_array_equal(got, want)
    assert got.dtype == bool


@pytest.mark.parametrize("nparts", [1, 3, 7])
def test_int_ids_random(nparts):
    rng = np.random.default_rng(nparts)
    a = rng.integers(0, 5000, 3000)
    b = rng.integers(4000, 20000, 2000)
    _check_all(a, b, _ddf(a, nparts), _ddf(b, max(1, nparts - 1)))
    # clean split
    _check_all(a, b + 30000, _ddf(a, nparts), _ddf(b + 30000, 2))


def test_mixed_numeric_dtypes_and_python_equality():
    a = pd.Series([1, 2, 2**53 + 1, 7, -3], dtype="int64")
    b = pd.Series([1.0, 2.5, float(2**53), -3.0, np.nan], dtype="float64")
    _check_all(a, b, dd.from_pandas(a, npartitions=2), dd.from_pandas(b, npartitions=3))
    u = pd.Series(np.array([2**64 - 1, 5, 2**63], dtype=np.uint64))
    i = pd.Series(np.array([-1, 5, -(2**63)], dtype=np.int64))
    _check_all(u, i, dd.from_pandas(u, npartitions=2), dd.from_pandas(i, npartitions=2))
    t = pd.Series([True, False])
    _check_all(t, a, dd.from_pandas(t, npartitions=1), dd.from_pandas(a, npartitions=2))


def test_strings_across_representations():
    vals_a = ["p1", "p2", None, "é", "", "p9", "x" * 40]
    vals_b = ["é", "q", "", None, "p9", "x" * 40]
    for dtype_a, dtype_b in [(object, object), ("string", "category"), ("str", object),
                             ("category", "string[pyarrow]")]:
        a = pd.Series(vals_a, dtype=dtype_a)
        b = pd.Series(vals_b, dtype=dtype_b)
        _check_all(a, b, dd.from_pandas(a, npartitions=3), dd.from_pandas(b, npartitions=2))


def test_objects_mixed_and_unplaceable():
    from decimal import Decimal

    a = pd.Series([1, "1", b"1", Decimal("2.5"), 3.0, (1, 2)], dtype=object)
    b = pd.Series([2.5, 1.0, "1", (1, 2), None], dtype=object)
    da_, db_ = dd.from_pandas(a, npartitions=2), dd.from_pandas(b, npartitions=2)
    assert lk.has_leakage(da_, db_) == lk.has_leakage(a, b)
    assert sorted(map(repr, lk.shared_ids(da_, db_).tolist())) == sorted(
        map(repr, lk.shared_ids(a, b).tolist()))
    np.testing.assert_array_equal(lk.overlap_mask(da_, db_).compute(), lk.overlap_mask(a, b))


def test_missing_never_shared_and_empty_partitions():
    a = pd.Series([None, np.nan, None], dtype=object)
    b = pd.Series([None, 1.0], dtype=object)
    _check_all(a, b, dd.from_pandas(a, npartitions=2), dd.from_pandas(b, npartitions=1))
    full = _ddf(np.arange(10), 3)
    empty_parts = full[full > 100]  # every partition empty
    assert not lk.has_leakage(empty_parts, full)
    assert lk.shared_ids(empty_parts, full).shape == (0,)


def test_one_side_in_memory_and_dask_array():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 10**9, 20_000)
    b = np.concatenate([rng.integers(0, 10**9, 500), a[:3]])
    arr = da.from_array(a, chunks=6000)
    _check_all(a, b, arr, b)
    _check_all(b, a, b, arr)
    assert isinstance(lk.overlap_mask(arr, b), da.Array)
    assert lk.overlap_mask(arr, b).chunks == arr.chunks


def test_bucket_path_when_candidates_exceed_the_gather_limit():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 3000, 4000)
    b = rng.integers(0, 3000, 3000)
    got = dlk.shared_ids(_ddf(a, 4), _ddf(b, 3), max_gather_rows=10)
    _same_ids(got, lk.shared_ids(a, b))
    s = np.array([f"id{v}" for v in a], dtype=object)
    t = np.array([f"id{v}" for v in b], dtype=object)
    got = dlk.shared_ids(_ddf(s, 4), _ddf(t, 3), max_gather_rows=10)
    _same_ids(got, lk.shared_ids(s, t))


def test_leakage_and_report_on_dask_frames():
    train = pd.DataFrame({"pid": [1, 2, 3, 4, None, 9], "x": range(6)})
    val = pd.DataFrame({"pid": [5, 6, 9], "x": range(3)})
    test = pd.DataFrame({"pid": [4, 7, 4, None], "x": range(4)})
    d = {k: dd.from_pandas(v, npartitions=2) for k, v in
         dict(train=train, val=val, test=test).items()}
    assert lk.leakage(d["train"], d["test"], "pid") == lk.leakage(train, test, "pid")
    got = lk.leakage_report(id_col="pid", **d)
    want = lk.leakage_report(train=train, val=val, test=test, id_col="pid")
    assert got.to_dict(None) == want.to_dict(None)
    for p, q in zip(got.pairs, want.pairs, strict=True):
        np.testing.assert_array_equal(p.left_rows, q.left_rows)
        np.testing.assert_array_equal(p.right_rows, q.right_rows)


def test_hash_gives_equal_ids_equal_hashes():
    ints = np.array([0, 1, -1, 2**53, 7], dtype=np.int64)
    floats = ints.astype(np.float64)
    assert (dlk._hash_column(ints)[0] == dlk._hash_column(floats)[0]).all()
    objs = np.array([0, True, -1, 2**53, 7.0], dtype=object)
    h = dlk._hash_column(pd.Series(objs, dtype=object))[0]
    assert (h == dlk._hash_column(ints)[0]).all()
    s = ["a", "bb", "é", ""]
    h1 = dlk._hash_column(np.array(s))[0]
    h2 = dlk._hash_column(pd.Series(s, dtype="category"))[0]
    h3 = dlk._hash_column(pd.Series(s + [1], dtype=object))[0][:4]
    assert (h1 == h2).all() and (h1 == h3).all()


def test_on_a_local_cluster_with_two_processes():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(11)
    a = rng.integers(0, 10**6, 50_000)
    b = np.concatenate([rng.integers(10**6, 2 * 10**6, 10_000), a[::5000]])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        _check_all(a, b, _ddf(a, 5), _ddf(b, 3))
        s = pd.Series([f"u{v}" for v in a], dtype="str")
        t = pd.Series([f"u{v}" for v in b], dtype="category")
        _check_all(s, t, dd.from_pandas(s, npartitions=4), dd.from_pandas(t, npartitions=2))


def test_times_long_doubles_and_decimals():
    from decimal import Decimal

    a = pd.Series(np.array([1, 2, 3, 10**6], dtype="timedelta64[s]"))
    b = pd.Series(np.array([1000, 2500, 10**9, 7], dtype="timedelta64[ms]"))
    _check_all(a, b, dd.from_pandas(a, npartitions=2), dd.from_pandas(b, npartitions=2))
    t1 = pd.Series(np.array(["2024-01-01", "2024-01-02", "NaT"], dtype="datetime64[D]"))
    t2 = pd.Series(np.array(["2024-01-02T00:00:00", "2024-01-02T00:00:01"],
                            dtype="datetime64[s]"))
    _check_all(t1, t2, dd.from_pandas(t1, npartitions=2), dd.from_pandas(t2, npartitions=1))
    ld = np.array([2**53 + 1, 2**53, 0.5], dtype=np.longdouble)
    ints = np.array([2**53 + 1, 3], dtype=np.int64)
    _check_all(ld, ints, da.from_array(ld, chunks=2), da.from_array(ints, chunks=1))
    dec = pd.Series([Decimal("1.0"), Decimal("2.5"), Decimal(10**30)], dtype=object)
    other = pd.Series([1, 2.5, 10**30, 4], dtype=object)
    _check_all(dec, other, dd.from_pandas(dec, npartitions=2),
               dd.from_pandas(other, npartitions=2))


def test_debug_log_says_which_plan_ran(caplog):
    import logging

    a = np.arange(1000)
    with caplog.at_level(logging.DEBUG, logger="fastml.dask"):
        dlk.shared_ids(_ddf(a, 3), _ddf(a[::7], 2))
        dlk.shared_ids(_ddf(a, 3), _ddf(a[::7], 2), max_gather_rows=10)
    text = caplog.text
    assert "gathered and compared in memory" in text and "hash buckets" in text
