"""fastml.leakage against Python set intersection (the reference), on every supported input
type, with adversarial IDs, and with a hash that makes every value collide."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastml.slow.leakage as slow
from fastml.leakage import _matching as matching  # where the hash hooks and tunables are read
from fastml.leakage import (
    has_leakage,
    leakage,
    leakage_report,
    overlap_mask,
    shared_ids,
)
from fastml.slow.leakage import as_list, is_missing

pd = pytest.importorskip("pandas")


# ------------------------------------------------------------------ the reference


def ref_shared(a, b) -> set:
    return slow.shared(a, b)


def check(a, b):
    """All of fastml's answers for (a, b) and (b, a) against the reference."""
    for x, y in ((a, b), (b, a)):
        expected = ref_shared(x, y)
        assert has_leakage(x, y) == bool(expected)
        ids = shared_ids(x, y)
        # NumPy scalars for datetime64 / timedelta64 (their tolist() gives ints for ns)
        got = list(ids) if ids.dtype.kind in "mM" else list(ids.tolist())
        assert len(got) == len(expected), (got, expected)
        assert set(got) == expected
        if len(got) > 1 and all(isinstance(v, (int, float)) for v in got):
            assert got == sorted(got)
        if len(got) > 1 and all(isinstance(v, str) for v in got):
            assert got == sorted(got)
        sy = {v for v in as_list(y) if not is_missing(v)}
        mask = overlap_mask(x, y)
        assert mask.dtype == bool and mask.shape == (len(as_list(x)),)
        want = [not is_missing(v) and v in sy for v in as_list(x)]
        assert mask.tolist() == want


@pytest.fixture(params=["hash", "table", "all-collide", "partitioned", "few-bits"])
def hashing(request, monkeypatch):
    """Run a test with the defaults (integers in a small range take the dense path), and
    with the hash table always: with the real hash, one that sends every value to the same
    partition, group and tag, a table cut in 16 partitions even for small inputs, and a hash
    keeping 3 bits of each of the partition, group and tag fields: results must not change.
    """
    if request.param != "hash":  # integers in a small range would skip the hash table
        monkeypatch.setattr(matching, "_DENSE_BYTES_PER_ROW", 0)
        monkeypatch.setattr(matching, "_DENSE_MIN_BYTES", 0)
    if request.param == "all-collide":
        monkeypatch.setattr(matching, "_hash_mask", np.uint64(0))
    if request.param in ("partitioned", "few-bits"):
        monkeypatch.setattr(matching, "_partition_bits", lambda n: 4)
    if request.param == "few-bits":
        monkeypatch.setattr(matching, "_hash_mask", np.uint64(0xE000_0000_0000_0700 | 0x07))
    return request.param


def test_hash_hooks_reach_the_kernels(monkeypatch):
    # The fixture above patches these names on fastml.leakage._matching: they must be read
    # there at each call, or the collision cases would silently run with the defaults.
    K = matching.kernels("leakage")
    calls = []
    for name in ("build", "dense_match"):
        real = getattr(K, name)
        monkeypatch.setattr(K, name, lambda *a, _n=name, _f=real: calls.append((_n, a)) or _f(*a))
    a, b = np.arange(100), np.arange(50, 300)
    np.testing.assert_array_equal(shared_ids(a, b), np.arange(50, 100))
    assert [name for name, _ in calls] == ["dense_match"]  # a small range: the dense path
    calls.clear()
    monkeypatch.setattr(matching, "_DENSE_BYTES_PER_ROW", 0)
    monkeypatch.setattr(matching, "_DENSE_MIN_BYTES", 0)
    monkeypatch.setattr(matching, "_partition_bits", lambda n: 4)
    monkeypatch.setattr(matching, "_hash_mask", np.uint64(0))
    np.testing.assert_array_equal(shared_ids(a, b), np.arange(50, 100))
    [(name, args)] = calls
    assert name == "build" and args[3] == 4 and args[4] == 0  # (..., pbits, mask_hash)


# --------------------------------------------------------------------------- numbers


INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


@pytest.mark.parametrize("da", INT_DTYPES + [np.float32, np.float64, bool])
@pytest.mark.parametrize("db", [np.int64, np.uint64, np.float64, np.int8, bool])
def test_numeric_dtype_pairs(da, db, hashing):
    rng = np.random.default_rng(7)
    a = rng.integers(0, 120, 300).astype(da)
    b = rng.integers(60, 200, 500).astype(db)
    check(a, b)


def test_adversarial_ints(hashing):
    # -1 and -2 share CPython's hash; 2**63 boundaries; uint64 above the int64 range
    a = np.array([-1, -2, 0, 2**63 - 1, -(2**63), 12345678901234567, 7], dtype=np.int64)
    b = np.array([-2, 2**63 - 1, 1 << 62, -(2**63), 3, 12345678901234568], dtype=np.int64)
    check(a, b)
    u = np.array([2**64 - 1, 2**63, 2**63 - 1, 0, 5], dtype=np.uint64)
    i = np.array([-1, -(2**63), 2**63 - 1, 0, 6], dtype=np.int64)
    check(u, i)  # 2**64-1 is not -1, 2**63 is not -2**63
    assert shared_ids(u, i).tolist() == [0, 2**63 - 1]
    assert shared_ids(u, u[:2]).dtype == np.uint64
    # huge Python ints beyond 64 bits take the set path
    check([2**70, -(2**70), 1, 2**64], [2**70, 2**64, -1, 1.0])


def test_dense_ranges_at_the_edges(hashing):
    lo64, hi64 = -(2**63), 2**63 - 1
    a = np.arange(lo64, lo64 + 300, dtype=np.int64)
    check(a, np.array([lo64, lo64 + 7, hi64, 0, lo64 + 299, lo64 + 300]))
    b = np.arange(hi64 - 200, hi64, dtype=np.int64)
    check(b, np.array([hi64 - 1, hi64, lo64, -1]))
    u = np.arange(2**63 - 100, 2**63 + 100, dtype=np.uint64)
    check(u, np.array([2**63 - 1, 2**63 - 100, -1, lo64, 5], dtype=np.int64))
    check(u, np.array([2**63, 2**63 + 99, 2**64 - 1], dtype=np.uint64))
    top = np.arange(2**64 - 50, 2**64 - 1, dtype=np.uint64)
    check(top, np.array([2**64 - 2, 0, 2**64 - 1], dtype=np.uint64))
    check(top, np.array([-2, -1, 0], dtype=np.int64))  # 2**64 - 2 is not -2
    check(np.array([3.0, 4.5, np.nan, -0.0]), np.arange(-5, 5))  # floats, dense int side


@pytest.mark.parametrize("path", ["dense", "table"])
def test_dense_or_table_larger(path, monkeypatch):
    if path == "table":
        monkeypatch.setattr(matching, "_DENSE_BYTES_PER_ROW", 0)
        monkeypatch.setattr(matching, "_DENSE_MIN_BYTES", 0)
    rng = np.random.default_rng(8)
    x = rng.integers(0, 50_000, 300_000)  # parallel blocks on both sides
    y = rng.integers(40_000, 120_000, 100_000)
    np.testing.assert_array_equal(shared_ids(x, y), np.intersect1d(x, y))
    np.testing.assert_array_equal(overlap_mask(y, x), np.isin(y, x))
    np.testing.assert_array_equal(overlap_mask(x, y), np.isin(x, y))


def test_floats_vs_ints(hashing):
    f = np.array([1.0, 1.5, -0.0, 2.0**53, 2.0**53 + 2, 2.0**63, -(2.0**63), np.inf, -np.inf,
                  np.nan, 1e300, 3.0])
    i = np.array([0, 1, 2**53, 2**53 + 1, 2**53 + 2, -(2**63), 2**63 - 1, 3], dtype=np.int64)
    u = np.array([0, 1, 2**63, 2**64 - 1, 2**53 + 2], dtype=np.uint64)
    check(f, i)
    check(f, u)
    check(f, f[::-1].copy())
    check(np.array([0.0, np.nan]), np.array([-0.0, np.nan]))  # -0.0 == 0.0, NaN missing
    assert shared_ids(f, i).dtype == np.float64
    assert shared_ids(np.array([np.nan]), np.array([np.nan])).size == 0


def test_bool_is_one_and_zero(hashing):
    check(np.array([True, False]), np.array([1, 5]))
    check([True, "x"], [1.0, "x"])
    assert shared_ids(np.array([True, False]), np.array([False])).dtype == bool


@pytest.mark.parametrize("seed", range(3))
def test_random_ints_larger(seed):
    # above the serial threshold: parallel blocks and a partitioned table
    rng = np.random.default_rng(seed)
    n = 200_000
    a = rng.integers(-(2**62), 2**62, n)
    b = np.concatenate([rng.integers(-(2**62), 2**62, n // 2), rng.choice(a, 1000)])
    rng.shuffle(b)
    expected = np.intersect1d(a, b)
    np.testing.assert_array_equal(shared_ids(a, b), expected)
    np.testing.assert_array_equal(overlap_mask(a, b), np.isin(a, b))
    np.testing.assert_array_equal(overlap_mask(b, a), np.isin(b, a))
    assert has_leakage(a, b)
    assert not has_leakage(a, b[~np.isin(b, a)])


def test_repeated_ids():
    rng = np.random.default_rng(3)
    a = np.repeat(rng.permutation(50_000), 5)
    b = np.repeat(np.arange(45_000, 90_000), 3)
    np.testing.assert_array_equal(shared_ids(a, b), np.arange(45_000, 50_000))
    np.testing.assert_array_equal(overlap_mask(a, b), a >= 45_000)


# --------------------------------------------------------------------------- strings


def adversarial_strings(rng, n) -> list[str]:
    prefix = "P" + "0" * 200
    pool = ["", " ", "a", "ab", "a\x00b", "\x00x", "é", "😀", "\ud800", "x" * 17, "P000123456",
            "1", "-1", "None", "nan"]
    pool += [prefix + str(i) for i in range(40)]  # long common prefixes
    pool += [f"P{i:09d}" for i in range(40)]
    return [pool[k] for k in rng.integers(0, len(pool), n)]


def test_strings_fixed_width(hashing):
    rng = np.random.default_rng(1)
    a = np.array([s for s in adversarial_strings(rng, 300) if s != "\ud800"])
    b = np.array([s for s in adversarial_strings(rng, 200) if s != "\ud800"])
    check(a, b)
    check(a, b.astype(f"U{b.dtype.itemsize // 4 + 3}"))  # different widths
    assert shared_ids(a, b).dtype.kind == "U"
    ab = np.array([s.encode() for s in adversarial_strings(rng, 100) if s != "\ud800"])
    bb = np.array([s.encode() for s in adversarial_strings(rng, 150) if s != "\ud800"])
    check(ab, bb)
    check(ab, a)  # bytes never equal str


def test_strings_objects(hashing):
    rng = np.random.default_rng(2)
    a = np.array(adversarial_strings(rng, 300) + [None, np.nan], dtype=object)
    b = np.array(adversarial_strings(rng, 200) + [None, float("nan"), pd.NA], dtype=object)
    check(a, b)
    check(list(a), tuple(b))
    check(a, np.array([s for s in adversarial_strings(rng, 50) if s != "\ud800"]))
    check(np.array([b"a", b"", None, b"\x00"], dtype=object), [b"", b"\x00", "a", None])
    check(np.array([np.str_("x"), "y", None], dtype=object), ["x", np.str_("y")])
    check(np.array([np.bytes_(b"x"), b"y"], dtype=object), [b"x"])


def test_strings_pandas_arrow_polars(hashing):
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(4)
    sa = [s for s in adversarial_strings(rng, 300) if s != "\ud800"] + [None]
    sb = [s for s in adversarial_strings(rng, 200) if s != "\ud800"] + [None]
    inputs = [
        pd.Series(sa, dtype="str"),
        pd.Series(sa, dtype="string"),
        pd.Series(sa, dtype="string[pyarrow]"),
        pd.Series(sa, dtype="category"),
        pd.Series(sa, dtype=object),
        pa.array(sa),
        pa.array(sa, type=pa.large_string()),
        pa.chunked_array([sa[:100], sa[100:]]),
        pa.array(sa).slice(7, 150),  # offset into the buffers
        pa.array(sa).dictionary_encode(),
    ]
    try:
        import polars as pl

        inputs.append(pl.Series(sb))
    except ImportError:
        pass
    for x in inputs:
        check(x, pd.Series(sb, dtype="str"))
        check(x, np.array([s for s in sb if s is not None]))


def test_pandas_numeric_variants(hashing):
    a = pd.Series([1, None, 3, 2**40], dtype="Int64")
    b = pd.Series([3.0, np.nan, 2.0**40, 7.5])
    check(a, b)
    check(pd.Series([1, 2, 3], dtype="uint64"), pd.Series([3, -1]))
    check(pd.Series([1.0, 2.0, None], dtype="Float64"), [2, None])
    check(pd.Series([True, None], dtype="boolean"), [1, 0])
    check(pd.Series([10, 20, 10], dtype="category"), [10.0, 30])
    check(pd.Index([5, 6, 7]), np.array([7, 8]))
    check(pd.Series(pd.to_datetime(["2024-01-01", None, "2024-01-02"])),
          pd.Series(pd.to_datetime(["2024-01-02", None])))


def test_arrow_and_polars_numeric(hashing):
    pa = pytest.importorskip("pyarrow")
    check(pa.array([1, None, 3], type=pa.int32()), pa.chunked_array([[3, 4], [None, 1]]))
    check(pa.array([1.5, None, 2.0]), np.array([2, 3]))
    check(pa.array([None, None], type=pa.null()), [None, 1])
    check(pa.array([b"x", None, b"y"]), [b"y", None, "x"])
    pl = pytest.importorskip("polars")
    check(pl.Series([1, None, 5]), pl.Series([5, 6, None]))
    check(pl.Series([1, 2, 3], dtype=pl.UInt64), np.array([3], dtype=np.uint64))
    check(pl.Series(["a", "b"], dtype=pl.Categorical), ["b", "c"])


def test_mixed_objects(hashing):
    a = [1, "1", 1.0, None, b"1", (1, 2), 2.5, True, "x", float("nan"), 2**70, -0.0]
    b = ["1", 1, (1, 2), None, b"2", 2.5, "y", float("nan"), 2**70, 0]
    check(a, b)
    ids = shared_ids(a, b).tolist()
    assert ids[:2] == [-0.0, 1]  # numbers first by value; the value from a; then str, ...
    assert ids == [-0.0, 1, 2.5, 2**70, "1", (1, 2)]
    check(np.array([1, "a"], dtype=object), np.arange(5))
    check(np.array(["a", 3], dtype=object), np.array(["a", "b"]))
    with pytest.raises(TypeError, match="hashable"):
        shared_ids([[1], 2], [2, 3])


def test_fork_after_parallel_work():
    import multiprocessing as mp

    a = np.arange(300_000)
    assert has_leakage(a, a[::7])  # the thread pool exists in this process
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply(has_leakage, (a, a[5:9])) is True


def test_empty_and_missing_only(hashing):
    for a, b in [([], []), ([], [1]), ([None, None], [None]), (np.array([]), np.array([1.0]))]:
        check(a, b)
        assert not has_leakage(a, b)
    assert shared_ids(np.array([], np.int64), np.array([1])).dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -0.0, 2.0, float("nan")]),
                       st.sampled_from(["", "a", "1", "ab", None]), st.booleans()), max_size=25),
    st.lists(st.one_of(st.integers(-3, 3), st.sampled_from([1.0, 0.5, float("nan")]),
                       st.sampled_from(["a", "1", None, "b"])), max_size=25),
)
def test_hypothesis_mixed(a, b):
    check(a, b)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-(2**63), 2**64 - 1), max_size=40),
    st.lists(st.integers(-(2**63), 2**64 - 1), max_size=40),
)
def test_hypothesis_ints(a, b):
    check(a, b)
    signed = [v for v in a if v < 2**63]
    unsigned = [v for v in b if v >= 0]
    check(np.array(signed, dtype=np.int64), np.array(unsigned, dtype=np.uint64))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=30), st.lists(st.text(max_size=6), max_size=30))
def test_hypothesis_text(a, b):
    check(a, b)
    check(pd.Series(a, dtype="str"), b)


def test_invalid_input():
    with pytest.raises(ValueError, match="1-D"):
        has_leakage(np.zeros((2, 2)), [1])
    with pytest.raises(TypeError):
        has_leakage("abc", ["a"])
    with pytest.raises(TypeError, match="DataFrame"):
        has_leakage(pd.DataFrame({"a": [1]}), [1])


# ---------------------------------------------------------------- drop-in and report


def set_expression(df1, df2, col):
    return len(set(df1[col].unique()) & set(df2[col].unique())) >= 1


def test_leakage_drop_in():
    rng = np.random.default_rng(5)
    for trial in range(20):
        df1 = pd.DataFrame({"Patient ID": rng.integers(0, 400, 100), "x": 0})
        df2 = pd.DataFrame({"Patient ID": rng.integers(300 + trial * 10, 1000, 60)})
        assert leakage(df1, df2, "Patient ID") == set_expression(df1, df2, "Patient ID")
        s1 = df1.astype({"Patient ID": str})
        s2 = df2.astype({"Patient ID": str})
        assert leakage(s1, s2, "Patient ID") == set_expression(s1, s2, "Patient ID")
    with pytest.raises(KeyError):
        leakage(df1, df2, "nope")
    # the one difference: missing values are never shared
    n1, n2 = pd.DataFrame({"id": ["a", None]}), pd.DataFrame({"id": [None, "b"]})
    assert set_expression(n1, n2, "id") and not leakage(n1, n2, "id")


def test_leakage_other_frames():
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    t1, t2 = pa.table({"id": [1, 2, 3]}), pa.table({"id": [3, 4]})
    assert leakage(t1, t2, "id")
    assert not leakage(pl.DataFrame({"id": ["a"]}), pl.DataFrame({"id": ["b"]}), "id")
    assert leakage({"id": np.array([1, 2])}, {"id": [2]}, "id")


def test_report_contents(hashing):
    train = pd.DataFrame({"pid": ["a", "b", "c", "d", None, "b"]})
    val = pd.DataFrame({"pid": ["e", "f", None]})
    test = pd.DataFrame({"pid": ["d", "x", "b", "d"]})
    report = leakage_report(train=train, val=val, test=test, id_col="pid")
    assert report and report.leaking_pairs == [("train", "test")]
    assert report.splits == {
        "train": {"rows": 6, "missing": 1},
        "val": {"rows": 3, "missing": 1},
        "test": {"rows": 4, "missing": 0},
    }
    p = report.pair("test", "train")
    assert (p.left, p.right, p.n_shared) == ("train", "test", 2)
    assert p.shared_ids.tolist() == ["b", "d"]
    assert p.left_rows.tolist() == [1, 3, 5]
    assert p.right_rows.tolist() == [0, 2, 3]
    assert not report.pair("train", "val") and report.pair("val", "test").n_shared == 0
    text = str(report)
    assert "LEAKAGE" in text and "train / test" in text and "'b', 'd'" in text
    assert "LeakageReport(leakage=True" in repr(report)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["leakage"] is True and d["pairs"][1]["n_shared_ids"] == 2
    assert d["pairs"][1]["right_rows_affected"] == 3
    with pytest.raises(KeyError):
        report.pair("train", "nope")


def test_report_folds_without_id_col():
    folds = {f"fold{k}": np.arange(k * 10, k * 10 + 10) for k in range(4)}
    report = leakage_report(**folds)
    assert not report and len(report.pairs) == 6
    assert "no leakage" in str(report)
    folds["fold3"] = np.append(folds["fold3"], [5, 5, np.nan])
    report = leakage_report(**folds)
    assert report.leaking_pairs == [("fold0", "fold3")]
    p = report.pair("fold0", "fold3")
    assert p.shared_ids.tolist() == [5.0] and p.right_rows.tolist() == [10, 11]
    assert report.splits["fold3"] == {"rows": 13, "missing": 1}
    many = leakage_report(a=np.arange(100), b=np.arange(50, 150))
    assert "more)" in str(many) and many.to_dict(max_ids=3)["pairs"][0]["shared_ids_truncated"]


def test_report_needs_two_splits():
    with pytest.raises(ValueError, match="two"):
        leakage_report(train=[1, 2])


def test_split_free_of_leakage_by_construction():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 1000, 20_000)
    test_groups = rng.choice(1000, 200, replace=False)
    in_test = np.isin(groups, test_groups)
    report = leakage_report(train=groups[~in_test], test=groups[in_test])
    assert not report
    assert math.isclose(report.splits["test"]["rows"] / 20_000, in_test.mean())


def test_string_hash_word_and_byte_paths_agree():
    # the kernel reads string bytes 8 at a time where the buffer is aligned and long enough,
    # one at a time elsewhere: both must give the same hash
    from fastml._backend import kernels

    K = kernels("leakage")
    rng = np.random.default_rng(11)
    strings = [rng.integers(0, 256, k, dtype=np.uint8).tobytes() for k in rng.integers(0, 40, 500)]
    data = b"".join(strings)
    offsets = np.zeros(len(strings) + 1, np.int64)
    np.cumsum([len(x) for x in strings], out=offsets[1:])
    buf = np.zeros(len(data) + 16, np.uint64).view(np.uint8)  # 8-byte aligned
    aligned, shifted = buf[: len(data)], buf[1 : len(data) + 1]
    outs = []
    for arr in (aligned, shifted):
        arr[:] = np.frombuffer(data, np.uint8)
        out = np.empty(len(strings), np.uint64)
        K._values(K.VAR, np.empty(0, np.uint64), np.empty((0, 1), np.uint64), offsets,
                  arr.copy() if arr is aligned else arr, 0, len(strings), out)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert len(set(outs[0].tolist())) == len(set(strings))


def test_missing_counted_in_object_columns():
    a = np.array(["x", None, np.nan, "y", float("nan")], dtype=object)
    b = np.array([None, "x", pd.NA, 1.5], dtype=object)
    report = leakage_report(a=a, b=b)
    assert report.splits == {"a": {"rows": 5, "missing": 3}, "b": {"rows": 4, "missing": 2}}
    assert report.pair("a", "b").shared_ids.tolist() == ["x"]
    assert report.pair("a", "b").left_rows.tolist() == [0]
    assert report.pair("a", "b").right_rows.tolist() == [1]


# ------------------------------------------------- times, long doubles, decimals, Int128


def test_timedelta_units_not_raw_counts(hashing):
    s = np.array([1, 2, 7, "NaT"], dtype="m8[s]")
    ms = np.array([1000, 1, 7, 2500, "NaT"], dtype="m8[ms]")
    check(s, ms)  # 1 s == 1000 ms; 1 s is not 1 ms; 7 s is not 7 ms; NaT missing
    assert list(shared_ids(s, ms)) == [np.timedelta64(1000, "ms")]
    assert shared_ids(s, ms).dtype == np.dtype("m8[ms]")
    assert not has_leakage(np.array([1], "m8[s]"), np.array([1], "m8[ms]"))
    assert has_leakage(np.array([1], "m8[s]"), np.array([1000], "m8[ms]"))
    check(np.array([1, 3], "m8[W]"), np.array([7, 3, 504], "m8[D]").astype("m8[h]"))
    check(np.array([1500, 1000], "m8[ns]"), np.array([1, 2], "m8[us]"))
    check(np.array([1, 2], "m8[Y]"), np.array([12, 13], "m8[M]"))  # 1 year == 12 months
    check(np.array([1], "m8[M]"), np.array([30, 31], "m8[D]"))  # no common unit: not equal
    assert shared_ids(np.array([1], "m8[s]"), np.array([], "m8[ms]")).dtype == np.dtype("m8[ms]")


def test_timedelta_is_not_a_number(hashing):
    # NumPy's == says np.timedelta64(1, "s") == 1, but its hash is a duration's: a set keeps
    # them apart, and so does fastml
    td = np.array([0, 1, 5, 1500], "m8[s]")
    for other in (np.array([0, 1, 5, 1500]), [0, 1, 5.0], np.array([1.0, 5.0])):
        check(td, other)
        assert not has_leakage(td, other)
    objects = np.array([np.timedelta64(1, "s"), np.timedelta64(2, "ms"), None], dtype=object)
    check(objects, np.array([1000, 2], "m8[ms]"))
    check(objects, [1, 2, 1000])
    check([np.timedelta64(1, "s"), 3], [1, np.timedelta64(1000, "ms"), 3.0])


def test_datetime_units_and_nat(hashing):
    day = np.array(["2024-01-01", "2024-03-01", "NaT", "1969-12-31"], dtype="M8[D]")
    sec = np.array(["2024-01-01T00:00:00", "2024-03-01T00:00:01", "NaT", "1969-12-31"],
                   dtype="M8[s]")
    ns = sec.astype("M8[ns]")
    check(day, sec)
    check(day, ns)
    assert list(shared_ids(day, sec)) == [np.datetime64("1969-12-31T00:00:00"),
                                          np.datetime64("2024-01-01T00:00:00")]
    check(np.array(["2024", "2025"], "M8[Y]"), np.array(["2024-01-01", "2025-02-01"], "M8[D]"))
    check(np.array(["2024-01"], "M8[M]"), ns)
    check(np.array(["NaT", "NaT"], "M8[s]"), np.array(["NaT"], "M8[D]"))
    assert not has_leakage(np.array(["NaT"], "M8[s]"), np.array(["NaT"], "M8[s]"))
    report = leakage_report(a=day, b=sec)
    assert report.splits == {"a": {"rows": 4, "missing": 1}, "b": {"rows": 4, "missing": 1}}
    # beyond the finer unit's range (year 1e6 in nanoseconds): the set path, still exact
    check(np.array([10**6, 54], "M8[Y]"), np.array(["2024-01-01", "NaT"], "M8[ns]"))
    check(np.array([0, 1], "M8[s]"), np.array([0, 1], "m8[s]"))  # instants are not durations
    check(np.array([0, 1], "M8[s]"), np.array([0, 1]))
    dates = pd.Series(pd.to_datetime(["2024-01-01", None, "2024-03-01"]))
    check(dates, day)
    check(dates, pd.Series(pd.to_timedelta([1, 2], unit="D")))
    check(pd.Series([1, 2], dtype="m8[s]"), pd.Series([1000, 2], dtype="m8[ms]"))
    check(pd.Series(pd.to_timedelta(["1s", None])).astype("category"), np.array([1], "m8[s]"))


def test_arrow_and_polars_times(hashing):
    pa = pytest.importorskip("pyarrow")
    check(pa.array([1, None, 3], type=pa.duration("s")),
          pa.array([1000, 3, None], type=pa.duration("ms")))
    stamps = pa.array([86_400_000, None, 1], type=pa.timestamp("ms"))
    check(stamps, np.array(["1970-01-02T00:00:00", "NaT"], "M8[s]"))
    check(stamps, pa.array([86_400_000_000, 1000], type=pa.timestamp("us")))
    # as NumPy compares datetime64 (a day is its midnight), not as datetime.date would
    assert has_leakage(stamps, np.array(["1970-01-02"], "M8[D]"))
    micro = pa.chunked_array([[1, 2], [None]], type=pa.duration("us"))
    check(micro, np.array([1000, 1, 3], "m8[ms]"))
    # as NumPy compares timedelta64 across units (its scalars in ns do not equal Python's
    # datetime.timedelta, which Arrow gives for durations in us)
    assert shared_ids(micro, np.array([1000, 1], "m8[ns]")).tolist() == [1000]
    # times of day compare exactly (Python's datetime.time would round 1001 ns to 1 us)
    t_ns = pa.array([1000, 1001, None], type=pa.time64("ns"))
    assert list(shared_ids(t_ns, pa.array([1], type=pa.time64("us")))) == [
        np.timedelta64(1000, "ns")]
    assert not has_leakage(pa.array([1001], type=pa.time64("ns")),
                           pa.array([1], type=pa.time64("us")))
    secs = pa.array([1, 2, None], type=pa.time32("s"))
    millis = pa.array([2000, 1], type=pa.time32("ms"))
    assert list(shared_ids(secs, millis)) == [np.timedelta64(2000, "ms")]  # since midnight
    assert overlap_mask(secs, millis).tolist() == [False, True, False]
    assert not has_leakage(secs, pa.array([1, 2], type=pa.duration("s")))  # not durations
    pl = pytest.importorskip("polars")
    check(pl.Series([1, None, 3], dtype=pl.Duration("ms")),
          pl.Series([3000], dtype=pl.Duration("us")))
    check(pl.Series([1000, 5], dtype=pl.Duration("us")), np.array([1, 3], "m8[ms]"))


LONG_DOUBLE_IS_WIDE = np.finfo(np.longdouble).nmant > 52
wide_only = pytest.mark.skipif(not LONG_DOUBLE_IS_WIDE, reason="long double is float64 here")


def eq_shared(a, b) -> list:
    """The reference by Python's == (no hashing): distinct values of a equal to a value of
    b. NumPy hashes a long double as its float64 rounding, so for long doubles a plain set
    can miss equal values; == is the semantics the module promises."""
    va = [v for v in as_list(a) if not is_missing(v)]
    vb = [v for v in as_list(b) if not is_missing(v)]
    out: list = []
    for v in va:
        if any(v == w for w in vb) and not any(v == u for u in out):
            out.append(v)
    return out


def check_eq(a, b):
    for x, y in ((a, b), (b, a)):
        expected = eq_shared(x, y)
        assert has_leakage(x, y) == bool(expected)
        got = shared_ids(x, y).tolist()
        assert len(got) == len(expected), (got, expected)
        assert all(any(g == e for e in expected) for g in got)
        vy = [v for v in as_list(y) if not is_missing(v)]
        want = [not is_missing(v) and any(v == w for w in vy) for v in as_list(x)]
        assert overlap_mask(x, y).tolist() == want


@wide_only
def test_long_double_exact(hashing):
    L2 = np.longdouble
    big = L2(2**53) + 1
    a = np.array([big, L2(2**53), L2(1) / 3, L2(0.5), L2("nan"), L2(2**63) + 1], dtype=L2)
    check_eq(a, np.array([2**53], dtype=np.int64))  # 2**53 + 1 is not 2**53
    check_eq(a, np.array([2**53 + 1, 7], dtype=np.int64))
    check_eq(a, np.array([2**63 + 1], dtype=np.uint64))
    check_eq(a, np.array([2.0**53, 0.5, 1 / 3]))  # float64(1/3) is not long double 1/3
    check_eq(a, a[::-1].copy())
    check_eq(a, np.array([big, L2(1) / 3], dtype=object))
    check_eq(np.array([L2(2**53) + 1, 3], dtype=object), [2**53 + 1, 2**53, 3.0])
    assert not has_leakage(np.array([big]), np.array([2**53]))
    assert has_leakage(np.array([big]), [2**53 + 1])
    # long doubles that float64 holds take the float64 path
    assert shared_ids(np.array([1.5, 3], dtype=L2), [3]).dtype == np.float64
    c = np.array([1 + 2j, big + 0j, big + 1j], dtype=np.clongdouble)
    check_eq(c, [1 + 2j, 2**53 + 1, 2**53])
    check_eq(c, c[::-1].copy())


def test_decimal_and_int128(hashing):
    from decimal import Decimal

    pl = pytest.importorskip("polars")
    dec = pl.Series([Decimal("1.0"), Decimal("2.50"), None, Decimal("0.1")])
    check(dec, [1, 2.5, Decimal("2.5"), 0.1, None])  # Decimal("0.1") != 0.1
    check(dec, pl.Series([Decimal("2.5"), Decimal("3")]))
    check(dec, [1, 3])
    # (np.int64(1) == Decimal("1.0") raises in NumPy; fastml compares the int's value)
    assert shared_ids(dec, np.array([1, 3])).tolist() == [Decimal("1.0")]
    i128 = pl.Series([1, 2**100, -(2**90), None, 2**64 - 1], dtype=pl.Int128)
    check(i128, [2**100, 2**64 - 1, 5, None])
    check(i128, np.array([2**64 - 1, 1], dtype=np.uint64))
    check(i128, pl.Series([1, 2**100], dtype=pl.Int128))
    check(pl.Series([1, 2], dtype=pl.Int128), np.array([2, 3]))  # fits int64: fast path
    if hasattr(pl, "UInt128"):
        check(pl.Series([2**127, 3], dtype=pl.UInt128), [2**127, 3.0])
    pa = pytest.importorskip("pyarrow")
    check(pa.array([Decimal("1.5"), None, Decimal("2")], type=pa.decimal128(5, 2)), [1.5, 2, 3])
    check(np.array([Decimal("NaN"), Decimal("1")], dtype=object), [Decimal("NaN"), 1])


def test_nested_ids_refused():
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    bad = [pa.array([[1], [2]]), pa.array([{"a": 1}]), pl.Series([[1], [2]]),
           pl.Series([{"a": 1}]), pl.Series([[1, 2]], dtype=pl.Array(pl.Int64, 2)),
           pa.array([[("k", 1)]], type=pa.map_(pa.string(), pa.int64()))]
    for x in bad:
        with pytest.raises(TypeError, match="not supported"):
            has_leakage(x, [1])
        with pytest.raises(TypeError, match="not supported"):
            leakage_report(a=[1], b=x)


def _new_dtype_pairs():
    from decimal import Decimal

    pairs = [
        (np.array([1, 2, 7, "NaT"], "m8[s]"), np.array([1000, 1, 7, "NaT"], "m8[ms]")),
        (np.array([1, 2], "m8[s]"), np.array([1, 2, 2000])),
        (np.array(["2024-01-01", "NaT", "2024-01-02"], "M8[D]"),
         np.array(["2024-01-02T00:00", "NaT", "2024-01-01T00:01"], "M8[m]")),
        (np.array([np.timedelta64(1, "s"), 1, None], dtype=object),
         np.array([1000, 5], "m8[ms]")),
    ]
    pl = pytest.importorskip("polars")
    pairs += [
        (pl.Series([Decimal("1.0"), Decimal("2.5"), None]), pl.Series([Decimal("2.50"), None])),
        (pl.Series([Decimal("1.0"), Decimal("2.5")]), [1, 2, 2.5]),
        (pl.Series([1, 2**100, None], dtype=pl.Int128), [2**100, 1, 3]),
        (pl.Series([3, None, 2**70], dtype=pl.Int128), pl.Series([2**70, 4], dtype=pl.Int128)),
        (pl.Series([1, None, 3], dtype=pl.Duration("ms")), pl.Series([3], dtype=pl.Duration("ms"))),
    ]
    return pairs


def _frame(x, col):
    pl = type(x).__module__.startswith("polars")
    if pl:
        return x.to_frame(col)
    return {col: x}


def test_every_function_agrees_with_set_semantics_on_new_dtypes():
    for a, b in _new_dtype_pairs():
        check(a, b)  # has_leakage, shared_ids, overlap_mask, both ways
        assert leakage(_frame(a, "id"), _frame(b, "id"), "id") == bool(ref_shared(a, b))
        report = leakage_report(left=a, right=b)
        p = report.pair("left", "right")
        expected = ref_shared(a, b)
        ids = p.shared_ids
        assert p.n_shared == len(expected)
        assert set(ids if ids.dtype.kind in "mM" else ids.tolist()) == expected
        la, lb = as_list(a), as_list(b)
        sa = {v for v in la if not is_missing(v)}
        sb = {v for v in lb if not is_missing(v)}
        assert p.left_rows.tolist() == [i for i, v in enumerate(la)
                                        if not is_missing(v) and v in sb]
        assert p.right_rows.tolist() == [i for i, v in enumerate(lb)
                                         if not is_missing(v) and v in sa]
        assert report.splits["left"] == {"rows": len(la), "missing": sum(map(is_missing, la))}
        assert bool(report) == bool(expected)
        json.dumps(report.to_dict())  # JSON-ready whatever the ID type


@wide_only
def test_every_function_agrees_with_python_eq_on_long_double():
    L2 = np.longdouble
    a = np.array([L2(2**53) + 1, L2(1) / 3, L2("nan"), L2(2)], dtype=L2)
    for b in (np.array([2**53 + 1, 2], np.int64), np.array([L2(1) / 3, L2(2**53)], dtype=L2),
              np.array([2**53, 1 / 3])):
        check_eq(a, b)
        expected = eq_shared(a, b)
        assert leakage({"id": a}, {"id": b}, "id") == bool(expected)
        p = leakage_report(a=a, b=b).pair("a", "b")
        assert p.n_shared == len(expected)
        assert p.left_rows.tolist() == np.flatnonzero(overlap_mask(a, b)).tolist()
        assert p.right_rows.tolist() == np.flatnonzero(overlap_mask(b, a)).tolist()


# ------------------------------------------------------- threads, fork, instruction sets


def _parallel_inputs():
    """Pairs large enough for several blocks, parallel tasks and a partitioned table, on
    every kernel path: dense int range, hashed ints, fixed-width and variable strings."""
    rng = np.random.default_rng(21)
    n = 300_000
    ints = rng.integers(-(2**62), 2**62, n)
    other = np.concatenate([rng.integers(-(2**62), 2**62, n // 3), rng.choice(ints, 500)])
    near = rng.integers(0, 400_000, n)
    fixed = np.array([f"id{v:08d}" for v in rng.integers(0, 10**6, n)])
    fixed_b = np.array([f"id{v:08d}" for v in rng.integers(0, 10**6, n // 2)])
    var = fixed.astype(object)
    var[::97] = None
    return [
        (ints, other),
        (near, rng.integers(350_000, 800_000, n // 2)),
        (fixed, fixed_b),
        (var, fixed_b.astype(object)),
    ]


def _answers(pairs) -> list:
    out = []
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            out.append((has_leakage(x, y), shared_ids(x, y).tolist(),
                        overlap_mask(x, y).tolist()))
    return out


def test_identical_for_any_thread_count(threads):
    pairs = _parallel_inputs()
    results = []
    for k in (1, 2, 3):
        threads(k)
        results.append(_answers(pairs))
    assert results[0] == results[1] == results[2]
    a, b = pairs[0]
    expected = np.intersect1d(a, b)
    assert expected.size > 0
    np.testing.assert_array_equal(np.asarray(results[0][0][1]), expected)


def _child_answers(_):
    return _answers(_parallel_inputs())


def test_fork_child_after_parallel_parent(threads):
    import multiprocessing as mp

    threads(2)
    expected = _answers(_parallel_inputs())  # the parent has used its thread pool
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.map_async(_child_answers, [0]).get(timeout=300) == [expected]


def test_instruction_set_builds_agree(monkeypatch):
    # the probe's first pass is compiled for AVX-512, AVX2 and the baseline and chosen at
    # run time: every build this CPU can run gives the same answers
    from fastml._backend import kernels

    K = kernels("leakage")
    if not hasattr(K, "simd_level"):
        pytest.skip("no compiled leakage kernels")
    monkeypatch.setattr(matching, "_DENSE_BYTES_PER_ROW", 0)
    monkeypatch.setattr(matching, "_DENSE_MIN_BYTES", 0)
    pairs = _parallel_inputs()
    pairs.append((np.arange(50_000), np.arange(49_000, 60_000)))  # one partition
    top = K.simd_level()
    results = []
    try:
        for level in range(top, -1, -1):
            assert K.simd_level(level) == level
            results.append(_answers(pairs))
    finally:
        K.simd_level(2)
    assert K.simd_level() == top
    assert all(r == results[0] for r in results)


def test_arrow_tables_get_a_clear_type_error():
    pa = pytest.importorskip("pyarrow")
    from fastml.leakage import leakage_report, overlap_mask, shared_ids

    t1, t2 = pa.table({"pid": [1, 2, 3], "x": [0, 0, 0]}), pa.table({"pid": [3, 4]})
    for f in (has_leakage, shared_ids, overlap_mask):
        with pytest.raises(TypeError, match=r"pyarrow Table .*one ID column"):
            f(t1, t2["pid"])
        with pytest.raises(TypeError, match=r"b is a pyarrow Table"):
            f(t1["pid"], t2)
    with pytest.raises(TypeError, match="RecordBatch"):
        has_leakage(pa.record_batch({"pid": [1]}), [1])
    with pytest.raises(TypeError, match="id_col"):
        leakage_report(train=t1, test=t2)
    # what the message proposes works
    assert has_leakage(t1["pid"], t2.column("pid"))
    assert leakage(t1, t2, "pid")
    assert bool(leakage_report(train=t1, test=t2, id_col="pid"))


# ------------------------------------------------------------- prefetching lookups


def _leakage_kernels():
    K = matching.kernels("leakage")  # the CPU kernels, as the matching looks them up
    if not hasattr(K, "_PREFETCH_MIN_TAG_BYTES"):
        pytest.skip("no compiled leakage kernels")
    return K


def test_prefetching_lookups_agree(hashing, monkeypatch):
    # lookups in tables larger than a cache request their memory ahead (first pass and full
    # search, probe and build-side read-back); forced here on small inputs, with every
    # hashing of the fixture (one that sends all values to one group, 16 partitions, 3 bits)
    K = _leakage_kernels()
    monkeypatch.setattr(K, "_PREFETCH_MIN_TAG_BYTES", 0)
    rng = np.random.default_rng(31)
    ints = rng.integers(-(2**62), 2**62, 700)
    check(ints, np.concatenate([rng.integers(-(2**62), 2**62, 300), ints[::7]]))
    check(np.repeat(ints[:90], 3), ints[50:400])  # repeated IDs, 1 mod 64 lengths
    check(np.arange(1000, dtype=np.int64), np.arange(990, 1065, dtype=np.uint64))
    words = [f"id{v:05d}" for v in rng.integers(0, 3000, 600)]
    check(np.array(words), np.array(words[::5] + ["x", "id99999"]))  # fixed-width records
    objs = np.array(words, dtype=object)
    objs[::11] = None
    check(objs, np.array(words[100:300] + [None, ""], dtype=object))  # variable bytes


@pytest.mark.parametrize("collide", [False, True])
def test_prefetching_lookups_larger(collide, monkeypatch, threads):
    # above the serial threshold: several parallel blocks, rows that stop mid-block, and
    # (collide) a hash keeping 3 bits per field, so that most rows are candidates
    K = _leakage_kernels()
    monkeypatch.setattr(K, "_PREFETCH_MIN_TAG_BYTES", 0)
    monkeypatch.setattr(matching, "_DENSE_BYTES_PER_ROW", 0)
    monkeypatch.setattr(matching, "_DENSE_MIN_BYTES", 0)
    if collide:
        monkeypatch.setattr(matching, "_partition_bits", lambda n: 4)
        monkeypatch.setattr(matching, "_hash_mask", np.uint64(0xE000_0000_0000_0700 | 0x07))
    rng = np.random.default_rng(32)
    n = 3_000 if collide else 200_003
    a = rng.integers(-(2**62), 2**62, n)
    b = np.concatenate([rng.integers(-(2**62), 2**62, n // 2), rng.choice(a, n // 20)])
    rng.shuffle(b)
    for k in (1, 2):
        threads(k)
        np.testing.assert_array_equal(shared_ids(a, b), np.intersect1d(a, b))
        np.testing.assert_array_equal(overlap_mask(a, b), np.isin(a, b))
        np.testing.assert_array_equal(overlap_mask(b, a), np.isin(b, a))
        assert has_leakage(a, b)
        assert not has_leakage(a, b[~np.isin(b, a)])


def test_prefetching_lookups_at_scale():
    # a table large enough to prefetch with the default threshold (2M build-side rows)
    K = _leakage_kernels()
    rng = np.random.default_rng(33)
    small = rng.integers(-(2**62), 2**62, 2_000_000)
    big = np.concatenate([rng.integers(-(2**62), 2**62, 3_000_000), small[::50]])
    rng.shuffle(big)
    table = K.build(0, matching._src(0, words=small.view(np.uint64)), matching._E_U8,
                    matching._partition_bits(small.size), np.uint64(matching._hash_mask))
    assert K._prefetching(table)
    np.testing.assert_array_equal(overlap_mask(big, small), np.isin(big, small))
    np.testing.assert_array_equal(overlap_mask(small, big), np.isin(small, big))
