"""Exact shared IDs between Dask collections (``fastml.leakage`` on Dask input).

Plan, for two ID columns A and B (either may also be in memory):

1. Every partition is read once into 64-bit words: plain numbers as their keys (no copy for
   int64 / uint64; the compiled kernels hash them), other columns hashed here with a hash
   that gives Python-equal IDs equal hashes across dtypes (``1``, ``1.0`` and ``True``; a
   ``str`` in an object, Arrow, categorical or fixed-width column). Each partition sets
   its hashes' bits in a bitmap (sized from the row counts, which the same pass gives) and
   the bitmaps of a side are OR-ed in a tree. IDs the hash cannot place (a ``Decimal`` that
   is no integer or float, a ``datetime``, a tuple) make the whole other side a candidate.
2. Every partition keeps its *candidates*: rows whose bit is set in the other side's bitmap.
   A shared ID is a candidate on both sides by construction; in a clean split only the
   bitmap's false positives remain (the bitmap has 8 bits per row of the smaller side: about
   1 in 8 rows of the larger side, more of the smaller side's when the other is larger).
   Steps 1 and 2 are one graph: the client waits once, for the candidates' sizes.
3. The candidates are gathered and compared exactly by the in-memory functions (the parts
   small enough come with their sizes, the rest in a second look). When there are more
   than ``max_gather_rows`` of them, they are instead split by hash into buckets, each
   bucket's two sides are brought together on a worker and compared there, and only the
   per-bucket answers travel.
4. ``overlap_mask`` and row positions: the exact shared IDs are sent to every partition of
   the side asked about, which answers row by row (the result keeps the input's
   partitions).

What reaches the client: the row counts, the shared IDs (the answer) and, below
``max_gather_rows``, the candidate rows. Bitmaps stay on the workers; the full ID columns
never leave them.

Why compiled bitmap loops and few temporaries: Dask's worker processes run with a small
``MALLOC_TRIM_THRESHOLD_``, which makes every large temporary array cost fresh page faults
(NumPy code there ran about 8x slower than on the client), so the per-partition work reads
the partition's own buffer and allocates little beyond its bitmap.
"""

from __future__ import annotations

import numbers

import numpy as np

from fastml import leakage as _mem
from fastml._dask import log, partitions

MAX_GATHER_ROWS = 5_000_000
_MIN_BITS, _MAX_BITS = 16, 28  # bitmap sizes: 2**16 .. 2**28 bits
_N_BUCKETS = 64

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_P = np.uint64(0x100000001B3)  # string hash: polynomial in this base over the UTF-8 bytes
_WILD = np.uint64(0)  # hash of IDs the hash cannot place (they match anything)
_S33 = np.uint64(33)


def _mix(x: np.ndarray) -> np.ndarray:
    """The compiled kernels' mix of 64-bit words (MurmurHash3's finaliser), 0 read as 1
    (0 is reserved for "cannot place"); one scratch array, the rest in place."""
    x = x.astype(np.uint64, copy=True)
    t = np.empty_like(x)
    with np.errstate(over="ignore"):
        for m in (_M1, _M2):
            np.right_shift(x, _S33, out=t)
            x ^= t
            x *= m
        np.right_shift(x, _S33, out=t)
        x ^= t
    x[x == _WILD] = 1
    return x


_TWO63 = 2.0**63
_TWO64 = 2.0**64


def _numeric_bits(v: np.ndarray) -> np.ndarray:
    """64 bits per value such that equal numbers get equal bits across int / uint / float /
    bool: integral values in [-2**63, 2**64) as their integer's bits, other floats as their
    own bits."""
    kind = v.dtype.kind
    if kind == "b":
        return v.astype(np.uint64)
    if kind in "iu":
        return v.view(np.uint64) if v.dtype.itemsize == 8 else v.astype(np.int64).view(np.uint64)
    v = v.astype(np.float64, copy=False)
    with np.errstate(invalid="ignore"):
        integral = (np.floor(v) == v) & (v >= -_TWO63) & (v < _TWO64)
    out = v.view(np.uint64).copy()
    neg = integral & (v < 0)
    pos = integral & (v >= 0)
    out[neg] = v[neg].astype(np.int64).view(np.uint64)
    out[pos] = v[pos].astype(np.uint64)
    return out


def _string_hash(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Polynomial hash of each string's UTF-8 bytes (``offsets``: n + 1 int64)."""
    n = offsets.shape[0] - 1
    if n and (offsets[0] != 0 or data.shape[0] != offsets[-1]):  # a slice of a buffer
        data = data[offsets[0]:offsets[-1]]
        offsets = offsets - offsets[0]
    lengths = np.diff(offsets)
    h = lengths.astype(np.uint64)
    if data.shape[0]:
        starts = offsets[:-1]
        pos = np.arange(data.shape[0], dtype=np.int64) - np.repeat(starts, lengths)
        longest = int(lengths.max())
        powers = np.ones(longest, np.uint64)
        with np.errstate(over="ignore"):
            if longest > 1:
                powers[1:] = _P
                powers = np.cumprod(powers, dtype=np.uint64)
            terms = data.astype(np.uint64) * powers[pos]
        nonempty = lengths > 0
        sums = np.add.reduceat(terms, starts[nonempty].astype(np.intp))
        with np.errstate(over="ignore"):
            h[nonempty] += sums * _M1
    return _mix(h) if n else h


def _object_hash(values: np.ndarray) -> np.ndarray:
    """Hash of mixed Python objects, equal for equal values (see :func:`_hash_column`)."""
    out = np.zeros(values.shape[0], np.uint64)
    num = np.zeros(values.shape[0], np.uint64)
    is_num = np.zeros(values.shape[0], bool)
    strs: dict[int, bytes] = {}
    for i, v in enumerate(values):
        if isinstance(v, (np.datetime64, np.timedelta64)):
            continue  # NumPy counts timedelta64 as an integer: cannot place (hash 0)
        if isinstance(v, np.longdouble):
            if v == np.floor(v) and -(2**63) <= int(v) < 2**64:
                num[i], is_num[i] = int(v) & 0xFFFFFFFFFFFFFFFF, True
            elif np.longdouble(float(v)) == v:
                num[i] = _numeric_bits(np.array([float(v)]))[0]
                is_num[i] = True
            continue
        if isinstance(v, (bool, np.bool_)):
            num[i], is_num[i] = int(v), True
        elif isinstance(v, (int, np.integer)):
            iv = int(v)
            if -(2**63) <= iv < 2**64:
                num[i], is_num[i] = iv & 0xFFFFFFFFFFFFFFFF, True
            else:
                try:
                    f = float(iv)
                except OverflowError:
                    f = None
                if f is not None and f == iv:
                    num[i] = np.float64(f).view(np.uint64)
                    is_num[i] = True
                # else: cannot place (a Decimal may equal it): hash 0
        elif isinstance(v, (float, np.floating)):
            num[i] = _numeric_bits(np.array([float(v)]))[0]
            is_num[i] = True
        elif isinstance(v, str):
            strs[i] = v.encode("utf-8", "surrogatepass")
        elif isinstance(v, bytes):
            strs[i] = bytes(v)
        elif isinstance(v, numbers.Number):
            try:
                if v == int(v):
                    iv = int(v)
                    if -(2**63) <= iv < 2**64:
                        num[i], is_num[i] = iv & 0xFFFFFFFFFFFFFFFF, True
                elif float(v) == v:
                    num[i] = _numeric_bits(np.array([float(v)]))[0]
                    is_num[i] = True
            except (TypeError, ValueError, OverflowError):
                pass
    out[is_num] = _mix(num[is_num])
    if strs:
        idx = np.fromiter(strs, np.int64, len(strs))
        blobs = list(strs.values())
        offsets = np.zeros(len(blobs) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, blobs), np.int64, len(blobs)), out=offsets[1:])
        out[idx] = _string_hash(offsets, np.frombuffer(b"".join(blobs), np.uint8))
    return out


_ATTOSECONDS = {"W": 7 * 86400 * 10**18, "D": 86400 * 10**18, "h": 3600 * 10**18,
                "m": 60 * 10**18, "s": 10**18, "ms": 10**15, "us": 10**12, "ns": 10**9,
                "ps": 10**6, "fs": 10**3, "as": 1}
_TIME_SALT = {"M8": np.uint64(0x9E3779B97F4A7C15), "m8": np.uint64(0xC2B2AE3D27D4EB4F),
              "t8": np.uint64(0x165667B19E3779F9)}


def _temporal_hash(t: np.ndarray, family: str) -> np.ndarray:
    """Equal instants / durations in any unit get equal hashes: the count times the unit in
    attoseconds, modulo 2**64 (equal exact products have equal residues)."""
    unit, step = np.datetime_data(t.dtype)
    if unit not in _ATTOSECONDS:  # years, months: no fixed length; cannot place
        return np.zeros(t.shape[0], np.uint64)
    factor = np.uint64((_ATTOSECONDS[unit] * step) % 2**64)
    with np.errstate(over="ignore"):
        bits = t.view(np.int64).view(np.uint64) * factor
    return _mix(bits ^ _TIME_SALT.get(family, np.uint64(0)))


def _hash_column(part) -> tuple[np.ndarray, np.ndarray]:
    """``(hash, present)`` per row of one partition: uint64 hashes (0 = cannot place) and
    False for missing IDs (never shared)."""
    return _column_hashes(_mem._as_column(part, "ids"))


def _column_hashes(col) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_hash_column` of a column already in ``fastml.leakage``'s form."""
    n = col.n_entities
    if col.family == "empty" or n == 0:
        h = np.zeros(n, np.uint64)
    elif col.family == "num":
        h = _mix(_numeric_bits(col.numeric))
    elif col.family in ("str", "bytes"):
        offsets, data = col.var if col.var is not None else _mem._var_of_fixed(col)
        h = _string_hash(np.asarray(offsets, np.int64), np.asarray(data, np.uint8))
    elif getattr(col, "temporal", None) is not None:
        h = _temporal_hash(col.temporal, col.family)
    elif col.family == "object":
        h = _object_hash(_mem._objects_of(col))
    else:  # a family this hash does not know: every row a candidate
        h = np.zeros(n, np.uint64)
    present = np.ones(n, bool) if col.skip is None else ~col.skip
    if col.family == "empty":
        present = np.zeros(n, bool)
    if col.codes is not None:
        codes = col.codes
        ok = codes >= 0
        rows_h = np.zeros(codes.shape[0], np.uint64)
        rows_h[ok] = h[codes[ok]]
        rows_present = np.zeros(codes.shape[0], bool)
        rows_present[ok] = present[codes[ok]]
        return rows_h, rows_present
    return h, present


def _kernels():
    from fastml._backend import kernels

    return kernels("leakage")


_NO_FLAGS = np.zeros(0, np.uint8)


def _prepared(part) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(words, excl, mix)``: one partition as the bitmap kernels read it. Plain numbers are
    their 64-bit keys (int64 / uint64 without a copy), which the kernels mix (``mix``); any
    other column is its hashes (:func:`_hash_column`). ``excl`` flags the missing rows
    (empty: none)."""
    col = _mem._as_column(part, "ids")
    if col.family == "num" and col.codes is None:
        words = np.ascontiguousarray(_numeric_bits(col.numeric))
        skip = col.skip
        excl = _NO_FLAGS if skip is None else np.ascontiguousarray(skip).view(np.uint8)
        return words, excl, True
    h, present = _column_hashes(col)
    excl = _NO_FLAGS if present.all() else (~present).view(np.uint8)
    return h, excl, False


def _count(prep) -> int:
    return int(prep[0].shape[0])


def _bitmap(prep, bits: int) -> tuple[np.ndarray, bool]:
    """(bitmap of the partition's hashes, ``2**bits`` bits; whether it holds an unplaceable
    ID)."""
    words, excl, mix = prep
    out = np.zeros(1 << (bits - 3), np.uint8)
    wild = _kernels().bitmap_set(words, excl, mix, 64 - bits, out)
    return out, bool(wild)


def _or_many(items):
    acc, wild = items[0][0].copy(), items[0][1]
    for bitmap, w in items[1:]:
        acc |= bitmap
        wild = wild or w
    return acc, wild


def _or_tree(level):
    import dask

    while len(level) > 1:  # a tree of ORs, 8 at a time
        level = [dask.delayed(_or_many)(level[i:i + 8]) for i in range(0, len(level), 8)]
    return level[0]


def _candidates(part, prep, other):
    """The values of the rows of ``part`` that may share an ID with the side whose bitmap is
    ``other`` (in row order)."""
    words, excl, mix = prep
    bitmap, other_wild = other
    if other_wild:  # every present row
        pos = np.arange(words.shape[0]) if excl.shape[0] == 0 else np.flatnonzero(excl == 0)
    else:
        keep = np.empty(words.shape[0], np.uint8)
        shift = 62 - bitmap.shape[0].bit_length()  # 2**(61 - shift) bytes
        _kernels().bitmap_probe(words, excl, mix, shift, bitmap, keep)
        pos = np.flatnonzero(keep)
    return _take(part, pos)


def _take(part, pos: np.ndarray):
    module = type(part).__module__.split(".")[0]
    if module == "pandas":
        dtype = part.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf" and not _mem._is_wide(dtype):
            return np.asarray(part)[pos]  # plain numbers travel as NumPy (no index)
        if hasattr(part, "iloc"):
            return part.iloc[pos]
    if isinstance(part, np.ndarray):
        return part[pos]
    if hasattr(part, "take") and module in ("pyarrow", "polars"):
        return part.take(pos) if module == "pyarrow" else part[pos]
    arr = np.empty(len(part), dtype=object)
    arr[:] = list(part)
    return arr[pos]


def _concat(values: list):
    """One column from the candidate values of several partitions."""
    values = [v for v in values if len(v)] or values[:1]
    first = values[0]
    if len(values) == 1:
        return first
    if all(isinstance(v, np.ndarray) for v in values):
        dtypes = {v.dtype for v in values}
        if len(dtypes) > 1 and any(d.kind in "biuf" for d in dtypes):
            # partitions of different numeric dtypes: their values as Python numbers (a
            # common dtype could round 2**53 + 1 to 2**53)
            return np.concatenate([v.astype(object) for v in values])
        return np.concatenate(values)
    if all(type(v) is type(first) for v in values):
        if hasattr(first, "iloc"):
            import pandas as pd

            return pd.concat(values, ignore_index=True)
        if type(first).__module__.startswith("pyarrow"):
            import pyarrow as pa

            return pa.chunked_array(values)
        if type(first).__module__.startswith("polars"):
            import polars as pl

            return pl.concat(values)
    out = np.empty(sum(len(v) for v in values), dtype=object)
    out[:] = [x for v in values for x in v]
    return out


def _compute(*args):
    import dask

    return dask.compute(*args)


def _bits_for(n_a: int, n_b: int) -> int:
    n = max(1, min(n_a, n_b))
    return int(min(_MAX_BITS, max(_MIN_BITS, (8 * n - 1).bit_length())))


def _bits_of(counts_a: list, counts_b: list) -> int:
    return _bits_for(sum(counts_a), sum(counts_b))


def _known_lengths(x) -> list | None:
    """Rows per part of a Dask collection where it knows them without a pass (a Dask array's
    chunks)."""
    chunks = getattr(x, "chunks", None)
    if chunks is not None and len(chunks) == 1 and all(c == c for c in chunks[0]):
        return [int(c) for c in chunks[0]]
    return None


def _plan(a, b):
    """Both sides' parts, rows per part (ints, or persisted Dask delayed ints) and candidates
    (persisted). One graph: each part is prepared (hashed) once, and counts, bitmaps, ORs and
    candidates follow from it on the workers, without a round trip to the client."""
    import dask

    sides = []
    for x in (a, b):
        parts, lazy = partitions(x)
        if not lazy:  # one key for the in-memory column, however many tasks read it
            parts = [dask.delayed(parts[0])]
        prep = [dask.delayed(_prepared)(p) for p in parts]
        lengths = _known_lengths(x) if lazy else [len(x)]
        sides.append((parts, prep, lengths or [dask.delayed(_count)(q) for q in prep]))
    (pa, prep_a, la), (pb, prep_b, lb) = sides
    if all(isinstance(n, int) for n in la + lb):
        bits = _bits_of(la, lb)
    else:
        bits = dask.delayed(_bits_of)(la, lb)
    map_a = _or_tree([dask.delayed(_bitmap)(q, bits) for q in prep_a])
    map_b = _or_tree([dask.delayed(_bitmap)(q, bits) for q in prep_b])
    cand_a = [dask.delayed(_candidates)(p, q, map_b) for p, q in zip(pa, prep_a, strict=True)]
    cand_b = [dask.delayed(_candidates)(p, q, map_a) for p, q in zip(pb, prep_b, strict=True)]
    cand_a, cand_b, la, lb = dask.persist(cand_a, cand_b, la, lb)
    return pa, pb, list(la), list(lb), list(cand_a), list(cand_b)


def _capped(values, cap: int):
    """``(rows, values)`` of one part's candidates, the values only up to ``cap`` rows."""
    n = len(values)
    return n, (values if n <= cap else None)


def _bucket_split(values, n_buckets: int):
    """``values`` split by hash into ``n_buckets`` columns (in row order); an unplaceable ID
    goes to every bucket."""
    h, _ = _hash_column(values)
    bucket = (h & np.uint64(n_buckets - 1)).astype(np.intp)
    wild = np.flatnonzero(h == _WILD)
    if wild.shape[0]:
        bucket[wild] = n_buckets  # last in the order below, then added to every bucket
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
    out = []
    for j in range(n_buckets):
        pos = order[bounds[j]:bounds[j + 1]]
        if wild.shape[0]:
            pos = np.sort(np.concatenate([pos, wild]))
        out.append(_take(values, pos))
    return out


def _bucket_shared(parts_a, parts_b):
    a, b = _concat(list(parts_a)), _concat(list(parts_b))
    return _mem.shared_ids(a, b)


def _shared_from_candidates(cand_a, cand_b, max_gather_rows: int, extra=()):
    """The exact shared IDs (as :func:`fastml.leakage.shared_ids` would return them), and
    ``extra`` (Dask objects) computed along with the first look at the candidates."""
    import dask

    cands = cand_a + cand_b
    cap = max(0, max_gather_rows) // max(1, len(cands))
    got, *extra = _compute([dask.delayed(_capped)(c, cap) for c in cands], *extra)
    n_cand = sum(n for n, _ in got)
    if n_cand <= max_gather_rows or len(cands) <= 2:
        log.debug("leakage: %d candidate rows (of %d + %d partitions) gathered and compared "
                  "in memory", n_cand, len(cand_a), len(cand_b))
        values = [v for _, v in got]
        later = [i for i, v in enumerate(values) if v is None]
        if later:  # parts over the cap, the total under the limit
            for i, v in zip(later, _compute([cands[i] for i in later])[0], strict=True):
                values[i] = v
        a, b = _concat(values[:len(cand_a)]), _concat(values[len(cand_a):])
        return _mem.shared_ids(a, b), extra
    log.debug("leakage: %d candidate rows compared in %d hash buckets on the workers", n_cand,
              _N_BUCKETS)
    split_a = [dask.delayed(_bucket_split, nout=_N_BUCKETS)(c, _N_BUCKETS) for c in cand_a]
    split_b = [dask.delayed(_bucket_split, nout=_N_BUCKETS)(c, _N_BUCKETS) for c in cand_b]
    per_bucket = [
        dask.delayed(_bucket_shared)([s[j] for s in split_a], [s[j] for s in split_b])
        for j in range(_N_BUCKETS)
    ]
    found = [p for p in _compute(*per_bucket) if len(p)]
    if not found:
        return _compute(per_bucket[0])[0], extra
    # Buckets can repeat an unplaceable ID; the in-memory function dedupes and sorts.
    merged = _concat(found) if all(isinstance(f, np.ndarray) for f in found) else found[0]
    return _mem.shared_ids(merged, merged), extra


def has_leakage(a, b, *, max_gather_rows: int = MAX_GATHER_ROWS) -> bool:
    _, _, _, _, cand_a, cand_b = _plan(a, b)
    return bool(len(_shared_from_candidates(cand_a, cand_b, max_gather_rows)[0]))


def shared_ids(a, b, *, max_gather_rows: int = MAX_GATHER_ROWS) -> np.ndarray:
    _, _, _, _, cand_a, cand_b = _plan(a, b)
    return _shared_from_candidates(cand_a, cand_b, max_gather_rows)[0]


def _mask_part(part, ids):
    return _mem.overlap_mask(part, ids)


def overlap_mask(a, b, *, max_gather_rows: int = MAX_GATHER_ROWS):
    """Per row of ``a``: is its ID in ``b``. A Dask array chunked like ``a``'s partitions
    when ``a`` is a Dask collection, else a NumPy array."""
    import dask
    import dask.array as da

    if not partitions(a)[1]:
        return _mem.overlap_mask(a, shared_ids(a, b, max_gather_rows=max_gather_rows))
    pa, _, la, _, cand_a, cand_b = _plan(a, b)
    ids, (la,) = _shared_from_candidates(cand_a, cand_b, max_gather_rows, [la])
    shared = dask.delayed(ids)
    chunks = [da.from_delayed(dask.delayed(_mask_part)(p, shared), shape=(n,), dtype=bool)
              for p, n in zip(pa, la, strict=True)]
    return da.concatenate(chunks) if len(chunks) > 1 else chunks[0]


def _positions(parts, lengths, ids):
    import dask

    masks = _compute(*[dask.delayed(_mask_part)(p, ids) for p in parts])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    found = [np.flatnonzero(m).astype(np.int64) + off
             for m, off in zip(masks, offsets, strict=True)]
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def _missing_count(part) -> int:
    return _mem._as_column(part, "ids").n_missing


def leakage_report(columns: dict, max_gather_rows: int = MAX_GATHER_ROWS):
    """:func:`fastml.leakage.leakage_report` for ID columns of which some are Dask."""
    from itertools import combinations

    import dask

    info, parts, lengths = {}, {}, {}
    for name, col in columns.items():
        p, lazy = partitions(col)
        parts[name] = p
        if lazy:
            lens, missing = _compute([dask.delayed(len)(x) for x in p],
                                     [dask.delayed(_missing_count)(x) for x in p])
        else:
            lens, missing = [len(p[0])], [_missing_count(p[0])]
        lengths[name] = list(lens)
        info[name] = {"rows": int(sum(lens)), "missing": int(sum(missing))}
    pairs = []
    for left, right in combinations(columns, 2):
        ids = shared_ids(columns[left], columns[right], max_gather_rows=max_gather_rows)
        pairs.append(_mem.PairLeakage(
            left=left, right=right, n_shared=int(ids.shape[0]), shared_ids=ids,
            left_rows=_positions(parts[left], lengths[left], ids),
            right_rows=_positions(parts[right], lengths[right], ids),
            left_size=info[left]["rows"], right_size=info[right]["rows"],
        ))
    return _mem.LeakageReport(info, pairs)
