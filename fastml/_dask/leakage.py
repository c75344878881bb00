"""Exact shared IDs between Dask collections (``fastml.leakage`` on Dask input).

Plan, for two ID columns A and B (either may also be in memory):

1. Every partition hashes its IDs to 64 bits with a hash that gives Python-equal IDs equal
   hashes across dtypes (``1``, ``1.0`` and ``True``; a ``str`` in an object, Arrow,
   categorical or fixed-width column) and sets their bits in a bitmap; the bitmaps of a side
   are OR-ed in a tree. IDs the hash cannot place (a ``Decimal`` that is no integer or
   float, a ``datetime``, a tuple) make the whole other side a candidate.
2. Every partition keeps its *candidates*: rows whose bit is set in the other side's bitmap.
   A shared ID is a candidate on both sides by construction; in a clean split only the
   bitmap's false positives remain (a few percent of the rows).
3. The candidates are gathered and compared exactly by the in-memory functions. When there
   are more than ``max_gather_rows`` of them, they are instead split by hash into buckets,
   each bucket's two sides are brought together on a worker and compared there, and only
   the per-bucket answers travel.
4. ``overlap_mask`` and row positions: the exact shared IDs are sent to every partition of
   the side asked about, which answers row by row (the result keeps the input's
   partitions).

What reaches the client: the bitmaps (at most 32 MiB each), the shared IDs (the answer) and,
below ``max_gather_rows``, the candidate rows. The full ID columns never do.
"""

from __future__ import annotations

import numbers

import numpy as np

from fastml import leakage as _mem
from fastml._dask import log, partitions

MAX_GATHER_ROWS = 5_000_000
_MIN_BITS, _MAX_BITS = 16, 28  # bitmap sizes: 2**16 .. 2**28 bits
_N_BUCKETS = 64

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_P = np.uint64(0x100000001B3)  # string hash: polynomial in this base over the UTF-8 bytes
_WILD = np.uint64(0)  # hash of IDs the hash cannot place (they match anything)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    x[x == _WILD] = 1  # 0 is reserved for "cannot place"
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
    col = _mem._as_column(part, "ids")
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


def _bitmap(part, bits: int) -> tuple[np.ndarray, bool]:
    """(packed bitmap of the partition's hashes, whether it holds an unplaceable ID)."""
    h, present = _hash_column(part)
    h = h[present]
    words = np.zeros(1 << (bits - 6), np.uint64)
    wild = bool((h == _WILD).any())
    idx = h >> np.uint64(64 - bits)
    np.bitwise_or.at(words, (idx >> np.uint64(6)).astype(np.intp),
                     np.left_shift(np.uint64(1), idx & np.uint64(63)))
    return words, wild


def _or(a, b):
    return a[0] | b[0], a[1] or b[1]


def _candidates(part, other, bits: int):
    """Rows of ``part`` that may share an ID with the side whose bitmap is ``other``:
    ``(positions, values, hashes)``."""
    words, other_wild = other
    h, present = _hash_column(part)
    if other_wild:
        keep = present
    else:
        idx = h >> np.uint64(64 - bits)
        bit = (words[(idx >> np.uint64(6)).astype(np.intp)] >> (idx & np.uint64(63)))
        keep = present & ((bit & np.uint64(1)).astype(bool) | (h == _WILD))
    pos = np.flatnonzero(keep)
    return pos, _take(part, pos), h[pos]


def _take(part, pos: np.ndarray):
    if hasattr(part, "iloc"):
        return part.iloc[pos]
    if isinstance(part, np.ndarray):
        return part[pos]
    if hasattr(part, "take") and type(part).__module__.split(".")[0] in ("pyarrow", "polars"):
        return part.take(pos) if type(part).__module__.startswith("pyarrow") else part[pos]
    arr = np.empty(len(part), dtype=object)
    arr[:] = list(part)
    return arr[pos]


def _concat(values: list):
    """One column from the candidate values of several partitions (same type each)."""
    values = [v for v in values if len(v)] or values[:1]
    first = values[0]
    if hasattr(first, "iloc"):
        import pandas as pd

        return pd.concat(values, ignore_index=True) if len(values) > 1 else first
    if isinstance(first, np.ndarray):
        return np.concatenate(values) if len(values) > 1 else first
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


def _lengths(x, parts, lazy) -> list:
    """Rows per part, from the collection's metadata where it knows them (a Dask array's
    chunks), else one pass over the parts."""
    if not lazy:
        return [len(parts[0])]
    chunks = getattr(x, "chunks", None)
    if chunks is not None and len(chunks) == 1 and all(c == c for c in chunks[0]):
        return [int(c) for c in chunks[0]]
    return None


def _plan(a, b):
    """Both sides' parts, rows per part, and their candidates (persisted: computed once)."""
    import dask

    pa, lazy_a = partitions(a)
    pb, lazy_b = partitions(b)
    la, lb = _lengths(a, pa, lazy_a), _lengths(b, pb, lazy_b)
    if la is None or lb is None:
        got = _compute([dask.delayed(len)(p) for p in pa] if la is None else [],
                       [dask.delayed(len)(p) for p in pb] if lb is None else [])
        la = list(got[0]) if la is None else la
        lb = list(got[1]) if lb is None else lb
    bits = _bits_for(sum(la), sum(lb))
    maps = []
    for parts in (pa, pb):
        level = [dask.delayed(_bitmap)(p, bits) for p in parts]
        while len(level) > 1:  # a tree of ORs, 8 at a time
            level = [dask.delayed(_or_many)(level[i:i + 8]) for i in range(0, len(level), 8)]
        maps.append(level[0])
    cand_a = [dask.delayed(_candidates)(p, maps[1], bits) for p in pa]
    cand_b = [dask.delayed(_candidates)(p, maps[0], bits) for p in pb]
    cand_a, cand_b = dask.persist(cand_a, cand_b)
    return pa, pb, cand_a, cand_b, la, lb


def _or_many(items):
    acc = items[0]
    for it in items[1:]:
        acc = _or(acc, it)
    return acc


def _size(cand) -> int:
    return len(cand[0])


def _values(cand):
    return cand[1]


def _sizes(cands) -> list:
    import dask

    return list(_compute([dask.delayed(_size)(c) for c in cands])[0])


def _gathered(cand_a, cand_b):
    import dask

    got_a, got_b = _compute([dask.delayed(_values)(c) for c in cand_a],
                            [dask.delayed(_values)(c) for c in cand_b])
    return _concat(list(got_a)), _concat(list(got_b))


def _bucket_split(cand, n_buckets: int):
    _, values, h = cand
    bucket = (h & np.uint64(n_buckets - 1)).astype(np.intp)
    wild = h == _WILD
    return [_take(values, np.flatnonzero((bucket == j) | wild)) for j in range(n_buckets)]


def _bucket_shared(parts_a, parts_b):
    a, b = _concat(list(parts_a)), _concat(list(parts_b))
    return _mem.shared_ids(a, b)


def _shared_from_candidates(cand_a, cand_b, max_gather_rows: int):
    """The exact shared IDs (as :func:`fastml.leakage.shared_ids` would return them)."""
    import dask

    n_cand = sum(_sizes(cand_a)) + sum(_sizes(cand_b))
    if n_cand <= max_gather_rows or len(cand_a) + len(cand_b) <= 2:
        log.debug("leakage: %d candidate rows (of %d + %d partitions) gathered and compared "
                  "in memory", n_cand, len(cand_a), len(cand_b))
        a, b = _gathered(cand_a, cand_b)
        return _mem.shared_ids(a, b)
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
        return _compute(per_bucket[0])[0]
    # Buckets can repeat an unplaceable ID; the in-memory function dedupes and sorts.
    merged = _concat(found) if all(isinstance(f, np.ndarray) for f in found) else found[0]
    return _mem.shared_ids(merged, merged)


def has_leakage(a, b, *, max_gather_rows: int = MAX_GATHER_ROWS) -> bool:
    _, _, cand_a, cand_b, _, _ = _plan(a, b)
    return bool(len(_shared_from_candidates(cand_a, cand_b, max_gather_rows)))


def shared_ids(a, b, *, max_gather_rows: int = MAX_GATHER_ROWS) -> np.ndarray:
    _, _, cand_a, cand_b, _, _ = _plan(a, b)
    return _shared_from_candidates(cand_a, cand_b, max_gather_rows)


def _mask_part(part, ids):
    return _mem.overlap_mask(part, ids)


def overlap_mask(a, b, *, max_gather_rows: int = MAX_GATHER_ROWS):
    """Per row of ``a``: is its ID in ``b``. A Dask array chunked like ``a``'s partitions
    when ``a`` is a Dask collection, else a NumPy array."""
    import dask
    import dask.array as da

    pa, pb, cand_a, cand_b, la, _ = _plan(a, b)
    ids = _shared_from_candidates(cand_a, cand_b, max_gather_rows)
    lazy = partitions(a)[1]
    if not lazy:
        return _mem.overlap_mask(a, ids)
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
