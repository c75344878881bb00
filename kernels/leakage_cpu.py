"""Shared-ID kernels: an exact hash semi-join of two ID columns (CPU).

Why Numba: the work is typed loops over flat buffers (64-bit words, fixed-width string
records, Arrow-style offsets + UTF-8 bytes) with no Python objects: hashing, radix
partitioning, open-addressing inserts and probes. Numba compiles them to native loops that
release the GIL (and vectorises the probe's first pass), run on a small thread pool (see
"parallel driver" below); Python ``str`` objects are never hashed here, the API layer hands
strings over as byte buffers.

Row representations (``kind``), all read-only and C-contiguous, passed as one tuple
``src = (words, fixed, offsets, data)`` whose unused members are empty:

- ``WORD`` (0): ``words[i]`` (uint64), a 64-bit key (int64 / uint64 bit patterns, canonical
  float64 bits). Its *value* is the key itself.
- ``FIXED`` (1): ``fixed[i, :]`` (uint64 words of one fixed-width string record). Its value
  is a 64-bit hash of the record.
- ``VAR`` (2): bytes ``data[offsets[i]:offsets[i + 1]]``. Its value is a 64-bit hash of the
  bytes and their length.

Exactness: hashing only proposes candidates. A probe row matches a table entry when the
values are equal *and*, for ``FIXED`` / ``VAR``, the records or bytes are equal, compared in
full against the entry's row; for ``WORD`` the values are the keys, so value equality is key
equality. Partitions, groups and tags come from ``hash_mask & mix(value)``; tests set
``hash_mask = 0`` (every row in one partition, one probe chain, one tag) to show that
correctness never depends on the hash.

The table (build on the smaller side, probe with the larger):

- open addressing in groups of 8 slots; ``tags[g]`` packs the 8 tag bytes of group ``g``
  (0 = empty, else 2..255 from 8 hash bits), so one 64-bit load tests 8 slots (SWAR);
  ``sval[slot]`` is the entry's value (the 8 values of a group share a cache line) and
  ``srow[slot]`` its row (``FIXED`` / ``VAR`` only: to compare records and to return rows);
- split in ``2**pbits`` partitions on the top hash bits, partition ``p`` owning groups
  ``gbase[p]:gbase[p + 1]`` (load at most 0.4: few full home groups), so the build
  radix-partitions its rows (per block histograms, prefix sums, parallel scatter) and fills
  the partitions in parallel, each small enough to stay in cache while it is filled. Each
  distinct value is entered once, from its first row. Missing / unmatchable rows (``excl``)
  are left out.

Probing runs over blocks of the probe side (in parallel), in two passes per block: a
vectorised pass that loads each row's home tag word and keeps only rows with a matching tag
or a full home group (most absent IDs end here, at a few nanoseconds each), then the full
search for those rows. A hit sets ``hit[slot]``, ``found[0]`` and, when asked, ``mask[row]``;
``stop_first`` ends the work soon after the first hit.

Parallel writes: ``hit`` and ``found`` receive plain byte stores of the value 1, possibly from
several threads at once; every writer stores the same value, so the result does not depend on
the interleaving. Blocks depend only on the input size, never on the thread count, and
results never depend on either.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit, types
from numba.cpython.unsafe.numbers import trailing_zeros as _ctz

WORD = 0
FIXED = 1
VAR = 2

ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)
MAX_BUILD_ROWS = 1 << 32  # rows are stored as uint32 in the table

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_K = np.uint64(0x9E3779B97F4A7C15)
_SEED = np.uint64(0x243F6A8885A308D3)
_S33 = np.uint64(33)
_S29 = np.uint64(29)
_S7 = np.uint64(7)
_S32 = np.uint64(32)
_S8 = np.uint64(8)
_LOW8 = np.uint64(0xFF)
_LOW32 = np.uint64(0xFFFFFFFF)
_ZERO = np.uint64(0)
_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_BLOCK_ROWS = 1 << 14  # rows per parallel block

# ------------------------------------------------------------------------------- signatures

_u8 = types.Array(types.uint8, 1, "C")
_i64 = types.Array(types.int64, 1, "C")
_u64 = types.Array(types.uint64, 1, "C")
_u32 = types.Array(types.uint32, 1, "C")
_ro_u8 = types.Array(types.uint8, 1, "C", readonly=True)
_ro_i64 = types.Array(types.int64, 1, "C", readonly=True)
_ro_u64 = types.Array(types.uint64, 1, "C", readonly=True)
_ro_u64_2d = types.Array(types.uint64, 2, "C", readonly=True)
_SRC = types.Tuple((_ro_u64, _ro_u64_2d, _ro_i64, _ro_u8))
_TABLE = types.Tuple((_i64, _u64, _u64, _u32))  # gbase, tags, sval, srow
_int = types.int64
_mask_t = types.uint64

# ------------------------------------------------------------------------- scalar helpers
# Only scalars go through per-row helper calls: a call that passes arrays costs reference
# count updates, so every loop over rows lives in a function called once per block.


@njit(cache=True, inline="always")
def _mix(x):
    """A bijection of 64-bit words that spreads every input bit (MurmurHash3's finaliser)."""
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@njit(cache=True, inline="always")
def _absorb(h, w):
    h = (h ^ w) * _K
    return h ^ (h >> _S29)


@njit(cache=True, inline="always")
def _hash(kind, v, hash_mask):
    """Slot / tag / partition hash of a value (``hash_mask`` is all ones outside tests)."""
    if kind == WORD:
        return _mix(v) & hash_mask
    return v & hash_mask


@njit(cache=True, inline="always")
def _partition(h, pbits):
    if pbits == 0:
        return 0
    return np.int64(h >> np.uint64(64 - pbits))


@njit(cache=True, inline="always")
def _group(h, n_groups):
    """Home group of hash ``h`` among ``n_groups`` (a multiply-shift range reduction of hash
    bits 8..39, apart from the tag's and the partition's bits)."""
    return np.int64((((h >> _S8) & _LOW32) * np.uint64(n_groups)) >> _S32)


@njit(cache=True, inline="always")
def _tag(h):
    """Tag byte of hash ``h``: its low 8 bits, 0 and 1 read as 2 and 3. No tag is 0 (the
    empty slot) or 1, so the SWAR tests below never flag an empty slot as a candidate."""
    t = h & _LOW8
    return t + np.uint64(2) * np.uint64(t < np.uint64(2))


@njit(cache=True, inline="always")
def _zero_bytes(x):
    """High bit set in each zero byte of ``x``, and possibly in bytes above one (the borrow);
    exact as to whether there is one, and its lowest flag is a true zero byte."""
    return (x - _ONES) & ~x & _HIGHS


@njit(cache=True, inline="always")
def _matches(word, tag):
    """Flags of the bytes of ``word`` that may equal ``tag`` (never misses one)."""
    return _zero_bytes(word ^ (tag * _ONES))


@njit(cache=True, inline="always")
def _n_rows(kind, words, fixed, offsets):
    if kind == WORD:
        return words.shape[0]
    if kind == FIXED:
        return fixed.shape[0]
    return offsets.shape[0] - 1


# --------------------------------------------------------------------------- block loops


@njit(cache=True)
def _values(kind, words, fixed, offsets, data, lo, hi, out):
    """``out[r] =`` the 64-bit value of row ``lo + r`` for rows ``lo .. hi - 1``: the key
    (``WORD``) or a hash of the record (``FIXED``) or of the bytes and length (``VAR``)."""
    if kind == WORD:
        for i in range(lo, hi):
            out[i - lo] = words[i]
    elif kind == FIXED:
        for i in range(lo, hi):
            h = _SEED
            for k in range(fixed.shape[1]):
                h = _absorb(h, fixed[i, k])
            out[i - lo] = _mix(h)
    else:
        # Bytes are taken 8 at a time, little-endian, the last word zero-padded. Where the
        # buffer allows (8-byte aligned, the words read lie inside it) two aligned loads and
        # shifts give each word; elsewhere the bytes are gathered one by one. Same hash.
        n64 = data.shape[0] >> 3
        words64 = data[:n64 * 8].view(np.uint64)
        aligned = (data.ctypes.data & 7) == 0
        for i in range(lo, hi):
            start = offsets[i]
            end = offsets[i + 1]
            h = _absorb(_SEED, np.uint64(end - start))
            if aligned and (end >> 3) + 1 < n64:
                p = start
                while p < end:
                    q = p >> 3
                    r = np.uint64(p & 7) * _S8
                    w = words64[q]
                    if r != _ZERO:
                        w = (w >> r) | (words64[q + 1] << (np.uint64(64) - r))
                    left = end - p
                    if left < 8:
                        w &= (np.uint64(1) << (np.uint64(left) * _S8)) - np.uint64(1)
                    h = _absorb(h, w)
                    p += 8
            else:
                w = _ZERO
                shift = _ZERO
                for p in range(start, end):
                    w |= np.uint64(data[p]) << shift
                    shift += _S8
                    if shift == np.uint64(64):
                        h = _absorb(h, w)
                        w = _ZERO
                        shift = _ZERO
                if shift != _ZERO:
                    h = _absorb(h, w)
            out[i - lo] = _mix(h)


@njit(cache=True)
def _histogram(kind, vals, m, excl, lo, hash_mask, pbits, counts):
    """Add the partition counts of the ``m`` values (rows ``lo ..``) to ``counts``."""
    has_excl = excl.shape[0] > 0
    for r in range(m):
        if has_excl and excl[lo + r]:
            continue
        counts[_partition(_hash(kind, vals[r], hash_mask), pbits)] += 1


@njit(cache=True)
def _scatter(kind, vals, m, excl, lo, hash_mask, pbits, offs, out_vals, out_rows):
    """Write value and row of each row to its partition's next position (``offs``)."""
    has_excl = excl.shape[0] > 0
    for r in range(m):
        if has_excl and excl[lo + r]:
            continue
        v = vals[r]
        p = _partition(_hash(kind, v, hash_mask), pbits)
        pos = offs[p]
        offs[p] = pos + 1
        out_vals[pos] = v
        out_rows[pos] = lo + r


@njit(cache=True)
def _insert(kind, pval, prow, lo, hi, g0, g1, tags, sval, srow, fixed, offsets, data,
            hash_mask):
    """Enter values ``pval[lo:hi]`` (rows ``prow``) in the groups ``g0:g1`` of one
    partition, each distinct value once (its first row stays the representative)."""
    n_groups = g1 - g0
    keep_rows = srow.shape[0] > 0
    for k in range(lo, hi):
        v = pval[k]
        h = _hash(kind, v, hash_mask)
        tag = _tag(h)
        g = g0 + _group(h, n_groups)
        i = prow[k]
        while True:
            word = tags[g]
            m = _matches(word, tag)
            duplicate = False
            while m != _ZERO:
                s = g * 8 + np.int64(_ctz(m) >> 3)
                if sval[s] == v and (
                    kind == WORD
                    or _same(kind, fixed, offsets, data, srow[s], fixed, offsets, data, i)
                ):
                    duplicate = True
                    break
                m &= m - np.uint64(1)
            if duplicate:
                break
            empty = _zero_bytes(word)
            if empty != _ZERO:
                lane = np.int64(_ctz(empty) >> 3)
                tags[g] = word | (tag << np.uint64(8 * lane))
                sval[g * 8 + lane] = v
                if keep_rows:
                    srow[g * 8 + lane] = i
                break
            g += 1
            if g == g1:
                g = g0


@njit(cache=True)
def _same(kind, fa, oa, da, i, fb, ob, db, j):
    """Row ``i`` of one side equals row ``j`` of the other, compared in full (``FIXED``:
    every word of the records; ``VAR``: length and every byte)."""
    if kind == FIXED:
        for k in range(fa.shape[1]):
            if fa[i, k] != fb[j, k]:
                return False
        return True
    start_a = oa[i]
    n = oa[i + 1] - start_a
    start_b = ob[j]
    if ob[j + 1] - start_b != n:
        return False
    for k in range(n):
        if da[start_a + k] != db[start_b + k]:
            return False
    return True


PROBE = 0  # a hit sets hit[slot], found[0] and mask[row]
READ = 1  # mask[row] = hit[slot] (the build side reading back which of its values were hit)


@njit(cache=True)
def _candidates(kind, gbase, tags, vals, lo, hi, hash_mask, pbits, bits):
    """Bit ``k`` of ``bits[w]``: value ``vals[lo + 64 w + k]`` needs the full search (a tag
    in its home group matches, or the group is full). Clear bits are certainly absent.

    The inner loops hold no store and no branch, so the compiler vectorises them (gathers of
    the tag words): this pass decides most probes at a few nanoseconds each. A value whose
    partition is empty reads a neighbour's (or the sentinel's) tag word: whatever it finds,
    the full search sees the empty partition.
    """
    base = gbase[0]
    n_groups = gbase[1] - base
    word_kind = kind == WORD
    for w in range((hi - lo + 63) // 64):
        start = lo + 64 * w
        count = min(64, hi - start)
        acc = _ZERO
        if pbits > 0:
            shift = np.uint64(64 - pbits)
            for k in range(count):
                h = _hash(kind, vals[start + k], hash_mask)
                q = np.int64(h >> shift)
                b = gbase[q]
                word = tags[b + _group(h, gbase[q + 1] - b)]
                flag = (_matches(word, _tag(h)) != _ZERO) | (_zero_bytes(word) == _ZERO)
                acc |= np.uint64(flag) << np.uint64(k)
        elif word_kind:
            for k in range(count):
                h = _mix(vals[start + k]) & hash_mask
                word = tags[base + _group(h, n_groups)]
                flag = (_matches(word, _tag(h)) != _ZERO) | (_zero_bytes(word) == _ZERO)
                acc |= np.uint64(flag) << np.uint64(k)
        else:
            for k in range(count):
                h = vals[start + k] & hash_mask
                word = tags[base + _group(h, n_groups)]
                flag = (_matches(word, _tag(h)) != _ZERO) | (_zero_bytes(word) == _ZERO)
                acc |= np.uint64(flag) << np.uint64(k)
        bits[w] = acc


PROBE = 0  # a hit sets hit[slot], found[0] and mask[row]
READ = 1  # mask[row] = hit[slot] (the build side reading back which of its values were hit)


@njit(cache=True)
def _run(kind, mode, gbase, tags, sval, srow, s_fixed, s_offsets, s_data, b_fixed, b_offsets,
         b_data, vals, lo, hi, row0, excl, hash_mask, pbits, mask, hit, found, stop_first):
    """Look up values ``vals[lo:hi]`` of rows ``row0 + (pos - lo)`` of the probe side.

    ``PROBE``: :func:`_candidates` first sets aside the values that are certainly absent; the
    others get the full search (tag candidates, value and record comparison, next groups).
    Returns the number of hits. ``READ``: the values are the build side's own; each finds
    its entry and copies the entry's ``hit`` flag to ``mask``.
    """
    has_excl = excl.shape[0] > 0
    marking = mask.shape[0] > 0
    n_words = (hi - lo + 63) // 64
    bits = np.empty(n_words, np.uint64)
    if mode == PROBE:
        _candidates(kind, gbase, tags, vals, lo, hi, hash_mask, pbits, bits)
    else:
        bits[:] = ALL_BITS
        if (hi - lo) % 64:
            bits[n_words - 1] = (np.uint64(1) << np.uint64((hi - lo) % 64)) - np.uint64(1)
    hits = 0
    for w in range(n_words):
        if stop_first and found[0]:
            break
        todo = bits[w]
        while todo != _ZERO:
            pos = lo + 64 * w + np.int64(_ctz(todo))
            todo &= todo - np.uint64(1)
            j = row0 + pos - lo
            if has_excl and excl[j]:
                continue
            v = vals[pos]
            h = _hash(kind, v, hash_mask)
            q = _partition(h, pbits)
            g0 = gbase[q]
            n_groups = gbase[q + 1] - g0
            if n_groups == 0:
                continue
            tag = _tag(h)
            g = _group(h, n_groups)
            slot = -1
            while True:
                word = tags[g0 + g]
                m = _matches(word, tag)
                while m != _ZERO:
                    s = (g0 + g) * 8 + np.int64(_ctz(m) >> 3)
                    if sval[s] == v and (
                        kind == WORD
                        or _same(kind, s_fixed, s_offsets, s_data, srow[s], b_fixed,
                                 b_offsets, b_data, j)
                    ):
                        slot = s
                        break
                    m &= m - np.uint64(1)
                if slot >= 0 or _zero_bytes(word) != _ZERO:
                    break
                g += 1
                if g == n_groups:
                    g = 0
            if slot < 0:
                continue
            if mode == READ:
                if marking:
                    mask[j] = hit[slot]
            else:
                hits += 1
                hit[slot] = 1
                found[0] = 1
                if marking:
                    mask[j] = 1
    return hits


# ---------------------------------------------------------------------------- entry points


_SERIAL_ROWS = 1 << 16  # below this many rows the work stays on the calling thread
_i64_2d = types.Array(types.int64, 2, "C")


@njit(cache=True)
def _count_block(kind, words, fixed, offsets, data, lo, hi, excl, hash_mask, pbits, counts):
    vals = np.empty(max(0, hi - lo), np.uint64)
    _values(kind, words, fixed, offsets, data, lo, hi, vals)
    _histogram(kind, vals, hi - lo, excl, lo, hash_mask, pbits, counts)


@njit(cache=True)
def _scatter_block(kind, words, fixed, offsets, data, lo, hi, excl, hash_mask, pbits, offs,
                   pval, prow):
    vals = np.empty(max(0, hi - lo), np.uint64)  # recomputed: cheaper than n kept values
    _values(kind, words, fixed, offsets, data, lo, hi, vals)
    _scatter(kind, vals, hi - lo, excl, lo, hash_mask, pbits, offs, pval, prow)


@njit((_int, _SRC, _ro_u8, _int, _mask_t, _int, _i64_2d, _int, _int), cache=True, nogil=True)
def count_blocks(kind, src, excl, pbits, hash_mask, rows, hist, b0, b1):
    """Build, pass 1: per block of ``rows`` rows, the row count of each partition."""
    words, fixed, offsets, data = src
    n = _n_rows(kind, words, fixed, offsets)
    for b in range(b0, b1):
        _count_block(kind, words, fixed, offsets, data, b * rows, min(n, (b + 1) * rows), excl,
                     hash_mask, pbits, hist[b])


@njit((_int, _SRC, _ro_u8, _int, _mask_t, _int, _i64_2d, _u64, _u32, _int, _int), cache=True,
      nogil=True)
def scatter_blocks(kind, src, excl, pbits, hash_mask, rows, offs, pval, prow, b0, b1):
    """Build, pass 2: value and row of every row to its partition's next position."""
    words, fixed, offsets, data = src
    n = _n_rows(kind, words, fixed, offsets)
    for b in range(b0, b1):
        _scatter_block(kind, words, fixed, offsets, data, b * rows, min(n, (b + 1) * rows),
                       excl, hash_mask, pbits, offs[b], pval, prow)


@njit((_int, _SRC, _u64, _u32, _i64, _TABLE, _mask_t, _int, _int), cache=True, nogil=True)
def insert_partitions(kind, src, pval, prow, pstart, table, hash_mask, p0, p1):
    """Build, pass 3: fill the tables of partitions ``p0:p1``."""
    _, fixed, offsets, data = src
    gbase, tags, sval, srow = table
    for p in range(p0, p1):
        _insert(kind, pval, prow, pstart[p], pstart[p + 1], gbase[p], gbase[p + 1], tags, sval,
                srow, fixed, offsets, data, hash_mask)


@njit(cache=True)
def _probe_block(kind, mode, gbase, tags, sval, srow, s_fixed, s_offsets, s_data, words, fixed,
                 offsets, data, lo, hi, excl, hash_mask, pbits, mask, hit, found, stop_first):
    """:func:`_run` over rows ``lo:hi`` of the probe side (or the build side for ``READ``)."""
    if stop_first and found[0]:
        return 0
    if kind == WORD:  # the keys are the values: no copy
        return _run(kind, mode, gbase, tags, sval, srow, s_fixed, s_offsets, s_data, fixed,
                    offsets, data, words, lo, hi, lo, excl, hash_mask, pbits, mask, hit, found,
                    stop_first)
    vals = np.empty(hi - lo, np.uint64)
    _values(kind, words, fixed, offsets, data, lo, hi, vals)
    return _run(kind, mode, gbase, tags, sval, srow, s_fixed, s_offsets, s_data, fixed,
                offsets, data, vals, 0, hi - lo, lo, excl, hash_mask, pbits, mask, hit, found,
                stop_first)


@njit(
    (_int, _int, _SRC, _TABLE, _int, _mask_t, _SRC, _ro_u8, types.boolean, _u8, _u8, _u8, _int,
     _i64, _int, _int),
    cache=True,
    nogil=True,
)
def probe_blocks(kind, mode, src_s, table, pbits, hash_mask, src_b, excl_b, stop_first, mask,
                 hit, found, rows, counts, b0, b1):
    """Look rows of ``src_b`` (blocks ``b0:b1`` of ``rows`` rows) up in ``table``, built from
    ``src_s``; ``counts[b]``: the hits of block ``b``.

    ``PROBE``: a hit sets ``hit[slot]``, ``found[0]`` and, when ``mask`` is not empty,
    ``mask[row]``; with ``stop_first`` the work ends soon after the first hit. ``READ``
    (``src_b`` is ``src_s``): ``mask[row] = hit[slot]``, which build rows were hit.
    """
    gbase, tags, sval, srow = table
    _, s_fixed, s_offsets, s_data = src_s
    words, fixed, offsets, data = src_b
    n = _n_rows(kind, words, fixed, offsets)
    for b in range(b0, b1):
        counts[b] = _probe_block(
            kind, mode, gbase, tags, sval, srow, s_fixed, s_offsets, s_data, words, fixed,
            offsets, data, b * rows, min(n, (b + 1) * rows), excl_b, hash_mask, pbits, mask,
            hit, found, stop_first,
        )


# ------------------------------------------------------------------ parallel driver
# Threads: a pool of Python threads runs the nogil loops above on contiguous ranges of blocks
# or partitions (as many threads as numba.get_num_threads(), so NUMBA_NUM_THREADS and
# numba.set_num_threads apply). Numba's own threading layer is not used here: its OpenMP
# backend's barriers cost tens of milliseconds per parallel region on a busy machine.

_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _forget_pool() -> None:  # a forked child has none of the parent's pool threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _threads() -> int:
    return max(1, int(numba.get_num_threads()))


def _executor(n_threads: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != n_threads:
            if _pool is not None:
                _pool[1].shutdown(wait=False)
            _pool = (n_threads, ThreadPoolExecutor(n_threads - 1, "fastml-leakage"))
        return _pool[1]


def _parallel(fn, n_items: int, n_rows: int, *args) -> None:
    """``fn(*args, lo, hi)`` over ``[0, n_items)`` cut in one contiguous range per thread
    (the calling thread takes the first)."""
    n_threads = min(_threads(), n_items)
    if n_rows < _SERIAL_ROWS or n_threads <= 1:
        fn(*args, 0, n_items)
        return
    cuts = [n_items * t // n_threads for t in range(n_threads + 1)]
    pool = _executor(n_threads)
    futures = [pool.submit(fn, *args, cuts[t], cuts[t + 1]) for t in range(1, n_threads)]
    fn(*args, cuts[0], cuts[1])
    for f in futures:
        f.result()


def _rows_of(kind: int, src) -> int:
    if kind == WORD:
        return src[0].shape[0]
    if kind == FIXED:
        return src[1].shape[0]
    return src[2].shape[0] - 1


def _block_rows(n: int) -> tuple[int, int]:
    nblk = max(1, -(-n // _BLOCK_ROWS))
    return nblk, max(1, -(-n // nblk))


def build(kind: int, src, excl, pbits: int, hash_mask):
    """The table of the distinct values of ``src`` (rows with ``excl`` set left out):
    ``(gbase, tags, sval, srow)``, see the module docstring. ``srow`` is empty for ``WORD``.
    """
    n = _rows_of(kind, src)
    nblk, rows = _block_rows(n)
    n_part = 1 << pbits
    hist = np.zeros((nblk, n_part), np.int64)
    _parallel(count_blocks, nblk, n, kind, src, excl, pbits, hash_mask, rows, hist)
    flat = np.ascontiguousarray(hist.T).ravel()  # partition-major: partition p, block b
    ends = np.cumsum(flat)
    offs = np.ascontiguousarray((ends - flat).reshape(n_part, nblk).T)
    pstart = np.zeros(n_part + 1, np.int64)
    np.cumsum(hist.sum(axis=0), out=pstart[1:])
    total = int(pstart[-1])
    pval = np.empty(total, np.uint64)
    prow = np.empty(total, np.uint32)
    _parallel(scatter_blocks, nblk, n, kind, src, excl, pbits, hash_mask, rows, offs, pval,
              prow)
    counts = np.diff(pstart)
    gbase = np.zeros(n_part + 1, np.int64)
    np.cumsum((counts * 5 + 15) // 16, out=gbase[1:])  # load at most 0.4
    n_groups = int(gbase[-1])
    tags = np.zeros(n_groups + 1, np.uint64)  # + an empty sentinel: see _candidates
    sval = np.empty(n_groups * 8, np.uint64)
    srow = np.empty(0 if kind == WORD else n_groups * 8, np.uint32)
    table = (gbase, tags, sval, srow)
    _parallel(insert_partitions, n_part, total, kind, src, pval, prow, pstart, table,
              hash_mask)
    return table


def probe(kind: int, src_s, table, pbits: int, hash_mask, src_b, excl_b, stop_first: bool,
          mask, hit, found) -> int:
    """Look every row of ``src_b`` up in ``table`` (built from ``src_s`` by :func:`build`).

    A hit sets ``hit[slot]``, ``found[0]`` and, when ``mask`` is not empty, ``mask[row]``.
    With ``stop_first`` the work ends soon after the first hit. Returns the number of
    probe-side rows that hit (a lower bound when it stopped early).
    """
    n = _rows_of(kind, src_b)
    if table[2].shape[0] == 0 or n == 0:
        return 0
    nblk, rows = _block_rows(n)
    counts = np.zeros(nblk, np.int64)
    _parallel(probe_blocks, nblk, n, kind, PROBE, src_s, table, pbits, hash_mask, src_b,
              excl_b, bool(stop_first), mask, hit, found, rows, counts)
    return int(counts.sum())


def build_mask(kind: int, src_s, table, pbits: int, hash_mask, excl, hit, mask) -> None:
    """``mask[row] = 1`` for every row of the build side whose value was hit."""
    n = _rows_of(kind, src_s)
    if table[2].shape[0] == 0 or n == 0:
        return
    nblk, rows = _block_rows(n)
    counts = np.zeros(nblk, np.int64)
    found = np.zeros(1, np.uint8)
    _parallel(probe_blocks, nblk, n, kind, READ, src_s, table, pbits, hash_mask, src_s, excl,
              False, mask, hit, found, rows, counts)


# --------------------------------------------------------------------- dense int ranges
# When the build side's integers span a range not much larger than its row count, a byte per
# value of the range replaces the hash table: ``present[v - lo]``. No hashing at all, exact by
# construction; ``v - lo`` is taken modulo 2**64, which maps exactly the values lo .. lo +
# range - 1 to 0 .. range - 1 whether the words are read as int64 or as uint64.


@njit((_ro_u64, _ro_u8, types.boolean, _i64, _u64, _int, _int), cache=True, nogil=True)
def word_range(words, excl, signed, count, bounds, lo, hi):
    """Count, min and max (``bounds[0:2]``, as words; int64 order when ``signed``) of the
    rows ``lo:hi`` not excluded; accumulated into ``count[0]`` / ``bounds``."""
    has_excl = excl.shape[0] > 0
    c = 0
    if signed:
        mn = np.int64(bounds[0])
        mx = np.int64(bounds[1])
        for i in range(lo, hi):
            if has_excl and excl[i]:
                continue
            v = np.int64(words[i])
            mn = min(mn, v)
            mx = max(mx, v)
            c += 1
        bounds[0] = np.uint64(mn)
        bounds[1] = np.uint64(mx)
    else:
        mn = bounds[0]
        mx = bounds[1]
        for i in range(lo, hi):
            if has_excl and excl[i]:
                continue
            v = words[i]
            mn = min(mn, v)
            mx = max(mx, v)
            c += 1
        bounds[0] = mn
        bounds[1] = mx
    count[0] += c


@njit((_ro_u64, _ro_u8, _mask_t, _u8, _int, _int), cache=True, nogil=True)
def dense_build(words, excl, lo_word, present, lo, hi):
    """``present[v - lo_word] = 1`` for the rows ``lo:hi`` not excluded."""
    has_excl = excl.shape[0] > 0
    for i in range(lo, hi):
        if has_excl and excl[i]:
            continue
        present[words[i] - lo_word] = 1


@njit(
    (types.int64, _ro_u64, _ro_u8, _mask_t, _u8, _u8, _u8, _u8, types.boolean, _int, _i64, _int,
     _int),
    cache=True,
    nogil=True,
)
def dense_probe(mode, words, excl, lo_word, present, hit, mask, found, stop_first, rows, counts,
                b0, b1):
    """Blocks ``b0:b1`` (of ``rows`` rows) of ``words`` against ``present``. ``PROBE``: a row
    whose value is present sets ``hit[v - lo_word]``, ``found[0]`` and, when ``mask`` is not
    empty, ``mask[row]``; ``counts[b]``: the hits of block ``b``. ``READ`` (the build side):
    ``mask[row] = hit[v - lo_word]``."""
    has_excl = excl.shape[0] > 0
    marking = mask.shape[0] > 0
    size = np.uint64(present.shape[0])
    n = words.shape[0]
    for b in range(b0, b1):
        if stop_first and found[0]:
            break
        c = 0
        for i in range(b * rows, min(n, (b + 1) * rows)):
            d = words[i] - lo_word
            if d >= size or (has_excl and excl[i]):
                continue
            if mode == READ:
                mask[i] = hit[d]
            elif present[d]:
                hit[d] = 1
                c += 1
                if marking:
                    mask[i] = 1
        if c:
            found[0] = 1
        counts[b] = c


def dense_range(words, excl, signed: bool):
    """(count, lo word, size) of the range of the rows not excluded (size 0 when none)."""
    n = words.shape[0]
    nblk, rows = _block_rows(n)
    parts = min(_threads(), nblk) if n >= _SERIAL_ROWS else 1
    cuts = [n * t // parts for t in range(parts + 1)]
    results = []
    for t in range(parts):  # per-thread partial results, merged below
        count = np.zeros(1, np.int64)
        init = (np.iinfo(np.int64).max, np.iinfo(np.int64).min) if signed else (2**64 - 1, 0)
        bounds = np.array([np.uint64(init[0] % 2**64), np.uint64(init[1] % 2**64)], np.uint64)
        results.append((count, bounds, cuts[t], cuts[t + 1]))
    if parts == 1:
        word_range(words, excl, signed, *results[0])
    else:
        pool = _executor(parts)
        futures = [pool.submit(word_range, words, excl, signed, *r) for r in results[1:]]
        word_range(words, excl, signed, *results[0])
        for f in futures:
            f.result()
    total = int(sum(r[0][0] for r in results))
    if total == 0:
        return 0, np.uint64(0), 0
    view = np.int64 if signed else np.uint64
    lo = min(int(r[1][:1].view(view)[0]) for r in results if r[0][0])
    hi = max(int(r[1][1:].view(view)[0]) for r in results if r[0][0])
    return total, np.uint64(lo % 2**64), hi - lo + 1


def dense_match(words_s, excl_s, lo_word, size: int, words_b, excl_b, stop_first: bool,
                mask_b, want_build_mask: bool):
    """The dense-range twin of build + probe (+ build_mask): ``(found, hit, mask_s)``."""
    present = np.zeros(size, np.uint8)
    n_s = words_s.shape[0]
    nblk_s, rows_s = _block_rows(n_s)
    # byte stores of the value 1 from several threads are harmless (see the module docstring)
    _parallel(_dense_build_blocks, nblk_s, n_s, words_s, excl_s, lo_word, present, rows_s)
    hit = np.zeros(size, np.uint8)
    found = np.zeros(1, np.uint8)
    n_b = words_b.shape[0]
    nblk, rows = _block_rows(n_b)
    counts = np.zeros(nblk, np.int64)
    _parallel(dense_probe, nblk, n_b, PROBE, words_b, excl_b, lo_word, present, hit, mask_b,
              found, bool(stop_first), rows, counts)
    mask_s = None
    if want_build_mask:
        mask_s = np.zeros(n_s, np.uint8)
        if found[0]:
            counts_s = np.zeros(nblk_s, np.int64)
            _parallel(dense_probe, nblk_s, n_s, READ, words_s, excl_s, lo_word, present, hit,
                      mask_s, found, False, rows_s, counts_s)
    return bool(found[0]), hit, mask_s


def _dense_build_blocks(words, excl, lo_word, present, rows, b0, b1):
    n = words.shape[0]
    dense_build(words, excl, lo_word, present, min(n, b0 * rows), min(n, b1 * rows))


@njit((_u8,), cache=True)
def hit_slots(hit):
    """Slots whose entry was hit, in table order."""
    count = 0
    for s in range(hit.shape[0]):
        count += hit[s] != 0
    out = np.empty(count, np.int64)
    j = 0
    for s in range(hit.shape[0]):
        if hit[s]:
            out[j] = s
            j += 1
    return out


# ----------------------------------------------------------------------------- conversions


@njit(cache=True, inline="always")
def _utf8_size(c):
    return 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4


@njit(cache=True, inline="always")
def _put_utf8(data, q, c):
    """Write code point ``c`` as UTF-8 at ``data[q:]``; returns the next position."""
    if c < 0x80:
        data[q] = c
        return q + 1
    if c < 0x800:
        data[q] = 0xC0 | (c >> 6)
        data[q + 1] = 0x80 | (c & 0x3F)
        return q + 2
    if c < 0x10000:
        data[q] = 0xE0 | (c >> 12)
        data[q + 1] = 0x80 | ((c >> 6) & 0x3F)
        data[q + 2] = 0x80 | (c & 0x3F)
        return q + 3
    data[q] = 0xF0 | (c >> 18)
    data[q + 1] = 0x80 | ((c >> 12) & 0x3F)
    data[q + 2] = 0x80 | ((c >> 6) & 0x3F)
    data[q + 3] = 0x80 | (c & 0x3F)
    return q + 4


@njit((types.Array(types.uint32, 1, "C", readonly=True), _ro_i64), cache=True)
def utf32_to_utf8(codes, char_offsets):
    """UTF-8 ``(offsets, data)`` of strings given as code points with their offsets.

    Lone surrogates are encoded like any other code point (as Python's "surrogatepass"
    does), so the encoding is one-to-one and byte order is code-point order.
    """
    n = char_offsets.shape[0] - 1
    sizes = np.zeros(n + 1, np.int64)
    for i in range(n):
        size = 0
        for k in range(char_offsets[i], char_offsets[i + 1]):
            size += _utf8_size(codes[k])
        sizes[i + 1] = size
    offsets = np.cumsum(sizes)
    data = np.empty(offsets[n], np.uint8)
    for i in range(n):
        q = offsets[i]
        for k in range(char_offsets[i], char_offsets[i + 1]):
            q = _put_utf8(data, q, codes[k])
    return offsets, data


@njit((types.Array(types.uint32, 2, "C", readonly=True),), cache=True)
def fixed_utf32_to_utf8(codes):
    """UTF-8 ``(offsets, data)`` of a fixed-width UTF-32 array (NumPy ``U``, viewed as
    ``(n, width)`` code points; trailing NULs are padding, as NumPy reads them)."""
    n, w = codes.shape
    lengths = np.empty(n, np.int64)
    sizes = np.zeros(n + 1, np.int64)
    for i in range(n):
        k = w
        while k > 0 and codes[i, k - 1] == 0:
            k -= 1
        lengths[i] = k
        size = 0
        for c in range(k):
            size += _utf8_size(codes[i, c])
        sizes[i + 1] = size
    offsets = np.cumsum(sizes)
    data = np.empty(offsets[n], np.uint8)
    for i in range(n):
        q = offsets[i]
        for c in range(lengths[i]):
            q = _put_utf8(data, q, codes[i, c])
    return offsets, data


@njit((_SRC, _ro_i64), cache=True)
def gather_var(src, rows):
    """Offsets and bytes of ``rows`` of a ``VAR`` source, concatenated."""
    offsets, data = src[2], src[3]
    out_off = np.empty(rows.shape[0] + 1, np.int64)
    out_off[0] = 0
    for j in range(rows.shape[0]):
        i = rows[j]
        out_off[j + 1] = out_off[j] + offsets[i + 1] - offsets[i]
    out = np.empty(out_off[rows.shape[0]], np.uint8)
    for j in range(rows.shape[0]):
        i = rows[j]
        out[out_off[j]:out_off[j + 1]] = data[offsets[i]:offsets[i + 1]]
    return out_off, out
