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


def _fmix64(x: int) -> int:
    """MurmurHash3's 64-bit finaliser in Python integers (the reference of the mix)."""
    m = 2**64 - 1
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & m
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & m
    x ^= x >> 33
    return x or 1  # 0 is reserved for IDs the hash cannot place


def test_numpy_mix_is_the_reference_mix():
    rng = np.random.default_rng(20)
    words = rng.integers(0, 2**64, 2000, dtype=np.uint64, endpoint=False)
    words[:4] = [0, 1, 2**63, 2**64 - 1]
    want = [_fmix64(int(w)) for w in words]
    assert dlk._mix(words).tolist() == want
    assert dlk._mix(words[:0]).shape == (0,)


def _reference_bitmap(values, excl, shift):
    bm = [0] * (1 << (61 - shift))
    for v, e in zip(values, excl, strict=True):
        if not e:
            b = int(v) >> shift
            bm[b >> 3] |= 1 << (b & 7)
    return np.array(bm, np.uint8)


@pytest.mark.parametrize("mix", [True, False])
@pytest.mark.parametrize("shift", [40, 48, 58])
def test_bitmap_kernels_against_a_reference(mix, shift):
    K = dlk._kernels()
    rng = np.random.default_rng(shift + mix)
    n = 3000
    words = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
    words[:3] = [0, 1, 2**64 - 1]
    if not mix:
        words[10:13] = 0  # hashes: 0 is an ID that cannot be placed
    values = [_fmix64(int(w)) for w in words] if mix else [int(w) for w in words]
    for excl in (np.zeros(0, np.uint8), (rng.random(n) < 0.2).astype(np.uint8)):
        flags = excl if excl.shape[0] else np.zeros(n, np.uint8)
        bm = np.zeros(1 << (61 - shift), np.uint8)
        zero = K.bitmap_set(words[: n // 2], excl[: n // 2], mix, shift, bm)
        np.testing.assert_array_equal(
            bm, _reference_bitmap(values[: n // 2], flags[: n // 2], shift))
        assert zero == any(v == 0 for v, e in zip(values[: n // 2], flags, strict=False)
                           if not e)
        keep = np.full(n, 7, np.uint8)
        count = K.bitmap_probe(words, excl, mix, shift, bm, keep)
        want = [0 if e else int(v == 0 or (bm[(v >> shift) >> 3] >> ((v >> shift) & 7)) & 1)
                for v, e in zip(values, flags, strict=True)]
        assert keep.tolist() == want and count == sum(want)
        # every row set (and not excluded) is kept: no false negatives
        assert keep[: n // 2][flags[: n // 2] == 0].all()


def test_bitmap_kernels_reject_bad_shapes():
    K = dlk._kernels()
    words = np.arange(10, dtype=np.uint64)
    none = np.zeros(0, np.uint8)
    with pytest.raises(ValueError, match="bytes"):
        K.bitmap_set(words, none, True, 48, np.zeros(10, np.uint8))
    for shift in (2, 62, 63, 64):
        with pytest.raises(ValueError, match="bytes"):
            K.bitmap_set(words, none, True, shift, np.zeros(1, np.uint8))
    one_byte = np.zeros(1, np.uint8)  # shift 61: 8 bits
    K.bitmap_set(words, none, False, 61, one_byte)
    assert one_byte[0] == 1  # words 0..9 all have top 3 bits 0
    bm = np.zeros(1 << 13, np.uint8)
    with pytest.raises(ValueError, match="flags"):
        K.bitmap_set(words, np.zeros(3, np.uint8), True, 48, bm)
    with pytest.raises(ValueError, match="keep"):
        K.bitmap_probe(words, none, True, 48, bm, np.zeros(3, np.uint8))


def test_prepared_numbers_and_hashed_objects_set_the_same_bits():
    # the kernels mix plain numbers themselves; other columns arrive hashed by NumPy: the
    # same ID must set the same bit either way
    ints = np.array([0, 1, -1, 2**53, 7, 2**63 - 1, -(2**63)], dtype=np.int64)
    cats = pd.Series(ints.tolist() + [None], dtype="category")  # codes: the hashed path
    p_num, p_obj = dlk._prepared(ints), dlk._prepared(cats)
    assert p_num[2] and not p_obj[2]
    assert p_obj[1].tolist() == [0] * 7 + [1]  # None is excluded
    m_num, w_num = dlk._bitmap(p_num, 20)
    m_obj, w_obj = dlk._bitmap(p_obj, 20)
    np.testing.assert_array_equal(m_num, m_obj)
    assert not w_num and not w_obj
    floats = dlk._prepared(pd.Series([1.5, np.nan, 3.0]))
    assert floats[1].tolist() == [0, 1, 0]


def test_bucket_path_with_unplaceable_ids():
    from decimal import Decimal

    a = pd.Series([1, "1", Decimal("2.5"), 3.0, (1, 2), "x", 2**70, Decimal(10**30)] * 3,
                  dtype=object)
    b = pd.Series([2.5, 1.0, "1", (1, 2), None, 10**30, "y", float(2**70)], dtype=object)
    da_, db_ = dd.from_pandas(a, npartitions=3), dd.from_pandas(b, npartitions=2)
    got = dlk.shared_ids(da_, db_, max_gather_rows=1)
    want = lk.shared_ids(a, b)
    assert sorted(map(repr, got.tolist())) == sorted(map(repr, want.tolist()))
    assert dlk.has_leakage(da_, db_, max_gather_rows=1)
    np.testing.assert_array_equal(dlk.overlap_mask(da_, db_, max_gather_rows=1).compute(),
                                  lk.overlap_mask(a, b))
    # no shared ID, wildcards on both sides
    c = pd.Series([Decimal("0.1"), (5,), 4], dtype=object)
    assert not dlk.has_leakage(dd.from_pandas(c, npartitions=2), db_, max_gather_rows=1)


def test_bucket_split_keeps_row_order_and_sends_wildcards_everywhere():
    from decimal import Decimal

    values = np.empty(7, dtype=object)
    values[:] = [5, Decimal("0.1"), 7, 5.0, "s", (1, 2), 9]
    h = dlk._hash_column(values)[0]
    buckets = dlk._bucket_split(values, 4)
    wild = [i for i in range(len(values)) if h[i] == 0]
    assert wild == [1, 5]
    for j, got in enumerate(buckets):
        rows = [i for i in range(len(values)) if h[i] & 3 == j or h[i] == 0]
        assert got.tolist() == values[rows].tolist()


def test_candidates_over_the_per_part_cap_are_gathered_after_a_second_look(monkeypatch):
    a = np.arange(1000)
    b = np.arange(400, 1600)
    big_then_small = dd.concat([_ddf(a[:900], 1), _ddf(a[900:], 2)])
    calls = []
    real = dlk._compute
    monkeypatch.setattr(dlk, "_compute", lambda *args: calls.append(1) or real(*args))
    got = dlk.shared_ids(big_then_small, _ddf(b, 3), max_gather_rows=3000)
    _same_ids(got, lk.shared_ids(a, b))
    assert len(calls) == 2  # the parts under the cap came with the first look


def test_partitions_of_different_numeric_dtypes_stay_exact():
    from decimal import Decimal

    big = 2**53 + 1
    assert dlk._concat([np.array([big, 5]), np.array([0.5])]).tolist() == [big, 5, 0.5]
    assert dlk._concat([np.array([2**64 - 1], np.uint64), np.array([-1])]).tolist() == [
        2**64 - 1, -1]
    parts = [pd.Series(np.array([big, 5], dtype=np.int64)),
             pd.Series(np.array([0.5, 7.0]))]
    a = dd.from_delayed([dask.delayed(p) for p in parts], meta=parts[0], verify_meta=False)
    b = np.empty(4, dtype=object)
    b[:] = [float(2**53), 7.0, 0.5, Decimal("0.1")]  # the Decimal: every row of a a candidate
    a_mem = np.array([big, 5, 0.5, 7.0], dtype=object)
    _same_ids(lk.shared_ids(a, b), lk.shared_ids(a_mem, b))
    assert lk.shared_ids(a, b).tolist() == [0.5, 7]


def test_nullable_ints_and_an_in_memory_list():
    a = pd.Series([1, pd.NA, 3, 2**62, pd.NA, 8], dtype="Int64")
    b = [3, None, 8.0, "8", 2**62]
    _check_all(a, b, dd.from_pandas(a, npartitions=3), b)
    _check_all(b, a, b, dd.from_pandas(a, npartitions=2))
