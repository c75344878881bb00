# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Shared-ID kernels: an exact hash semi-join of two ID columns (CPU).

Why compiled loops: the work is typed loops over flat buffers (64-bit words, fixed-width
string records, Arrow-style offsets + UTF-8 bytes) with no Python objects: hashing, radix
partitioning, open-addressing inserts and probes, all in ``nogil`` C run by the parallel
driver (``fastml.kernels._parallel``). Python ``str`` objects are never hashed here, the API
layer (``fastml.leakage``) hands strings over as byte buffers.

Contract (the API layer guarantees it; bounds are not checked here): row representations
(``kind``), all C-contiguous (read-only is fine), passed as one tuple ``src = (words, fixed,
offsets, data)`` whose unused members are empty:

- ``WORD`` (0): ``words[i]`` (uint64), a 64-bit key (int64 / uint64 bit patterns, canonical
  float64 bits). Its *value* is the key itself.
- ``FIXED`` (1): ``fixed[i, :]`` (uint64 words of one fixed-width string record; both sides
  of a join have the same record width). Its value is a 64-bit hash of the record.
- ``VAR`` (2): bytes ``data[offsets[i]:offsets[i + 1]]`` (int64 offsets, non-decreasing,
  inside ``data``). Its value is a 64-bit hash of the bytes and their length.

``excl`` is a uint8 array with one flag per row (rows flagged are missing or can match
nothing) or an empty array (no row excluded).

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
  distinct value is entered once, from its first row. Excluded rows are left out.

Probing runs over blocks of the probe side (in parallel), in two passes per block: a
branch-free pass that loads each row's home tag word and keeps only rows with a matching tag
or a full home group (most absent IDs end here, at a few nanoseconds each), then the full
search for those rows. The first pass is C compiled three times (AVX-512, AVX2, baseline
x86-64; the package itself is built for the baseline) and the build the CPU supports is
picked at run time: vectorised, it runs about twice as fast as the baseline scalar loop. In
tables larger than a cache (``_PREFETCH_MIN_TAG_BYTES``) a lookup is a cache miss, so both
passes request the memory of rows further on (the first pass: the next 64 rows' tag words;
the full search: the home groups of the candidates 8 words of 64 rows on) and the misses
overlap; hints only, they change no result. A hit sets ``hit[slot]``, ``found[0]`` and,
when asked, ``mask[row]``; ``stop_first`` ends the work soon after the first hit (checked
before each block and each 64 rows).

Parallel work: blocks of ``_BLOCK_ROWS`` rows (and the partitions of the build) are grouped
into tasks by the sizes only and run by the parallel driver; inputs under ``_SERIAL_ROWS``
rows, or one thread, make one call on the calling thread. ``hit`` and ``found`` receive plain byte
stores of the value 1, possibly from several threads at once; every writer stores the same
value, so the result does not depend on the interleaving. Results depend neither on the
thread count nor on the task geometry: the table's layout follows row order, and per-block
counts are added in block order.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport INT64_MAX, INT64_MIN, UINT64_MAX, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcmp

from fastml.kernels._parallel import blocks, get_num_threads, map_tasks

cnp.import_array()

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>

    /* ---- the hash: every primitive of the table, written once ---- */

    /* A bijection of 64-bit words that spreads every input bit (MurmurHash3's finaliser). */
    static inline uint64_t fastml_mix(uint64_t x) {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDULL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53ULL;
        x ^= x >> 33;
        return x;
    }
    static inline uint64_t fastml_absorb(uint64_t h, uint64_t w) {
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
        return h ^ (h >> 29);
    }
    /* Slot / tag / partition hash of a value (mask is all ones outside tests): WORD values
       (kind 0) are keys and get mixed, the others are hashes already. */
    static inline uint64_t fastml_hash(int kind, uint64_t v, uint64_t mask) {
        return (kind == 0 ? fastml_mix(v) : v) & mask;
    }
    static inline int64_t fastml_partition(uint64_t h, int pbits) {
        return pbits == 0 ? 0 : (int64_t)(h >> (64 - pbits));
    }
    /* Home group among n_groups: a multiply-shift range reduction of hash bits 8..39, apart
       from the tag's and the partition's bits. */
    static inline int64_t fastml_group(uint64_t h, int64_t n_groups) {
        return (int64_t)((((h >> 8) & 0xFFFFFFFFULL) * (uint64_t)n_groups) >> 32);
    }
    /* Tag byte: the low 8 bits, 0 and 1 read as 2 and 3. No tag is 0 (the empty slot) or 1,
       so the SWAR tests never flag an empty slot as a candidate. */
    static inline uint64_t fastml_tag(uint64_t h) {
        uint64_t t = h & 0xFF;
        return t + 2 * (uint64_t)(t < 2);
    }
    /* High bit set in each zero byte of x, and possibly in bytes above one (the borrow);
       exact as to whether there is one, and its lowest flag is a true zero byte. */
    static inline uint64_t fastml_zero_bytes(uint64_t x) {
        return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
    }
    /* Flags of the bytes of word that may equal tag (never misses one). */
    static inline uint64_t fastml_matches(uint64_t word, uint64_t tag) {
        return fastml_zero_bytes(word ^ (tag * 0x0101010101010101ULL));
    }

    #if defined(_MSC_VER)
    #include <intrin.h>
    static inline int fastml_ctz64(uint64_t x) {
        unsigned long i; _BitScanForward64(&i, x); return (int)i;
    }
    #else
    static inline int fastml_ctz64(uint64_t x) { return __builtin_ctzll(x); }
    #endif

    /* 8 bytes at p as a little-endian word, whatever the alignment. */
    static inline uint64_t fastml_load64le(const unsigned char* p) {
        uint64_t w;
        memcpy(&w, p, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
    #endif
        return w;
    }
    /* Hints: bring the cache line of p in, to read (prefetch) or to write (prefetchw). */
    #if defined(__GNUC__)
    static inline void fastml_prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }
    static inline void fastml_prefetchw(const void* p) { __builtin_prefetch(p, 1, 3); }
    #else
    static inline void fastml_prefetch(const void* p) { (void)p; }
    static inline void fastml_prefetchw(const void* p) { (void)p; }
    #endif
    /* A flag other threads may set while this one runs. */
    static inline unsigned char fastml_flag(const unsigned char* p) {
        return *(const volatile unsigned char*)p;
    }

    /* ---- the probe's first pass ----
       Bit k of bits[w]: vals[64 w + k] needs the full search (a tag of its home group
       matches, or the group is full); clear bits are certainly absent. The flag loops hold
       no branch and store one byte per row, so the compiler vectorises them (gathers of the
       tag words) where the instruction set has gathers: AVX-512 and AVX2 builds of this
       function are chosen at run time on x86-64 CPUs that have them. Eight flag bytes
       become eight bits with one multiplication. A value whose partition is empty reads a
       neighbour's (or the sentinel's) tag word: whatever it finds, the full search sees the
       empty partition. */
    #if defined(__GNUC__)
    #define FASTML_ALWAYS_INLINE static inline __attribute__((always_inline))
    #else
    #define FASTML_ALWAYS_INLINE static inline
    #endif

    #define FASTML_CANDIDATE_FLAG(h, word) \\
        ((unsigned char)((fastml_matches(word, fastml_tag(h)) != 0) | \\
                         (fastml_zero_bytes(word) == 0)))

    FASTML_ALWAYS_INLINE void fastml_candidates_body(
            int kind, const int64_t* gbase, const uint64_t* tags, const uint64_t* vals,
            int64_t m, uint64_t mask, int pbits, int prefetch, uint64_t* bits) {
        const int64_t base = gbase[0], n_groups = gbase[1] - base;
        unsigned char flags[64];
        for (int64_t w = 0; w < (m + 63) / 64; w++) {
            const uint64_t* row = vals + 64 * w;
            const int count = (int)(m - 64 * w < 64 ? m - 64 * w : 64);
            if (prefetch) {  /* the tag words of the next 64 rows: their misses overlap */
                const int64_t lo = 64 * (w + 1), hi = lo + 64 < m ? lo + 64 : m;
                for (int64_t k = lo; k < hi; k++) {
                    uint64_t h = fastml_hash(kind, vals[k], mask);
                    int64_t q = fastml_partition(h, pbits), b = gbase[q];
                    fastml_prefetch(tags + b + fastml_group(h, gbase[q + 1] - b));
                }
            }
            if (pbits > 0) {
                const int shift = 64 - pbits;
                for (int k = 0; k < count; k++) {
                    uint64_t h = fastml_hash(kind, row[k], mask);
                    int64_t q = (int64_t)(h >> shift), b = gbase[q];
                    uint64_t word = tags[b + fastml_group(h, gbase[q + 1] - b)];
                    flags[k] = FASTML_CANDIDATE_FLAG(h, word);
                }
            } else if (kind == 0) {
                for (int k = 0; k < count; k++) {
                    uint64_t h = fastml_mix(row[k]) & mask;
                    uint64_t word = tags[base + fastml_group(h, n_groups)];
                    flags[k] = FASTML_CANDIDATE_FLAG(h, word);
                }
            } else {
                for (int k = 0; k < count; k++) {
                    uint64_t h = row[k] & mask;
                    uint64_t word = tags[base + fastml_group(h, n_groups)];
                    flags[k] = FASTML_CANDIDATE_FLAG(h, word);
                }
            }
            if (count < 64)
                memset(flags + count, 0, (size_t)(64 - count));
            uint64_t acc = 0;
            for (int k = 0; k < 8; k++) {
                uint64_t eight;  /* bytes 0/1; the product's top byte holds them as bits */
                memcpy(&eight, flags + 8 * k, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                eight = __builtin_bswap64(eight);
    #endif
                acc |= ((eight * 0x0102040810204080ULL) >> 56) << (8 * k);
            }
            bits[w] = acc;
        }
    }

    static void fastml_candidates_base(
            int kind, const int64_t* gbase, const uint64_t* tags, const uint64_t* vals,
            int64_t m, uint64_t mask, int pbits, int prefetch, uint64_t* bits) {
        fastml_candidates_body(kind, gbase, tags, vals, m, mask, pbits, prefetch, bits);
    }

    #if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    #define FASTML_X86_CLONES 1
    __attribute__((target("avx2,bmi,bmi2")))
    static void fastml_candidates_avx2(
            int kind, const int64_t* gbase, const uint64_t* tags, const uint64_t* vals,
            int64_t m, uint64_t mask, int pbits, int prefetch, uint64_t* bits) {
        fastml_candidates_body(kind, gbase, tags, vals, m, mask, pbits, prefetch, bits);
    }
    __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,bmi,bmi2")))
    static void fastml_candidates_avx512(
            int kind, const int64_t* gbase, const uint64_t* tags, const uint64_t* vals,
            int64_t m, uint64_t mask, int pbits, int prefetch, uint64_t* bits) {
        fastml_candidates_body(kind, gbase, tags, vals, m, mask, pbits, prefetch, bits);
    }
    /* The level in use: 2: AVX-512 (F, DQ, VL, BW), 1: AVX2 + BMI2, 0: neither; at most
       fastml_simd_cap (a test hook). */
    static int fastml_simd_cap = 2;
    static int fastml_simd_level(void) {
        static int level = -1;  /* a benign race: every thread computes the same value */
        if (level < 0) {
            __builtin_cpu_init();
            int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
            int avx512 = avx2 && __builtin_cpu_supports("avx512f")
                && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512bw");
            level = avx512 ? 2 : avx2 ? 1 : 0;
        }
        return level < fastml_simd_cap ? level : fastml_simd_cap;
    }
    #else
    static int fastml_simd_cap = 0;
    static int fastml_simd_level(void) { return 0; }
    #endif

    static void fastml_candidates(
            int kind, const int64_t* gbase, const uint64_t* tags, const uint64_t* vals,
            int64_t m, uint64_t mask, int pbits, int prefetch, uint64_t* bits) {
    #ifdef FASTML_X86_CLONES
        int level = fastml_simd_level();
        if (level == 2) {
            fastml_candidates_avx512(kind, gbase, tags, vals, m, mask, pbits, prefetch, bits);
            return;
        }
        if (level == 1) {
            fastml_candidates_avx2(kind, gbase, tags, vals, m, mask, pbits, prefetch, bits);
            return;
        }
    #endif
        fastml_candidates_base(kind, gbase, tags, vals, m, mask, pbits, prefetch, bits);
    }
    """
    uint64_t _mix "fastml_mix"(uint64_t x) noexcept nogil
    uint64_t _absorb "fastml_absorb"(uint64_t h, uint64_t w) noexcept nogil
    uint64_t _hash "fastml_hash"(int kind, uint64_t v, uint64_t hash_mask) noexcept nogil
    Py_ssize_t _partition "fastml_partition"(uint64_t h, int pbits) noexcept nogil
    Py_ssize_t _group "fastml_group"(uint64_t h, Py_ssize_t n_groups) noexcept nogil
    uint64_t _tag "fastml_tag"(uint64_t h) noexcept nogil
    uint64_t _zero_bytes "fastml_zero_bytes"(uint64_t x) noexcept nogil
    uint64_t _matches "fastml_matches"(uint64_t word, uint64_t tag) noexcept nogil
    int _ctz "fastml_ctz64"(uint64_t x) noexcept nogil
    uint64_t _load64le "fastml_load64le"(const uint8_t* p) noexcept nogil
    uint8_t _flag "fastml_flag"(const uint8_t* p) noexcept nogil
    void _prefetch "fastml_prefetch"(const void* p) noexcept nogil
    void _prefetchw "fastml_prefetchw"(const void* p) noexcept nogil
    void _candidates_c "fastml_candidates"(
        int kind, const int64_t* gbase, const uint64_t* tags, const uint64_t* vals,
        Py_ssize_t m, uint64_t hash_mask, int pbits, int prefetch, uint64_t* bits) noexcept nogil
    int _simd_level "fastml_simd_level"() noexcept nogil
    int _simd_cap "fastml_simd_cap"


WORD = 0
FIXED = 1
VAR = 2
PROBE = 0  # a hit sets hit[slot], found[0] and mask[row]
READ = 1  # mask[row] = hit[slot] (the build side reading back which of its values were hit)
MAX_BUILD_ROWS = 1 << 32  # rows are stored as uint32 in the table

cdef enum:
    K_WORD = 0
    K_FIXED = 1
    K_VAR = 2
    M_PROBE = 0
    M_READ = 1

_BLOCK_ROWS = 1 << 14  # rows per block
_SERIAL_ROWS = 1 << 16  # below this many rows the work stays on the calling thread
_MAX_TASKS = 64  # blocks (or partitions) are grouped into at most this many tasks
cdef Py_ssize_t BLOCK_ROWS = _BLOCK_ROWS
_PREFETCH_MIN_TAG_BYTES = 1 << 22  # tables with more tag bytes: lookups prefetch (see _run)


# ------------------------------------------------------------------------ sources, tables

cdef struct Src:
    int kind
    Py_ssize_t n  # rows
    const uint64_t* words
    const uint64_t* fixed
    Py_ssize_t width  # uint64 words per fixed record
    const int64_t* offsets
    const uint8_t* data
    Py_ssize_t n_data


cdef struct Table:
    const int64_t* gbase
    uint64_t* tags
    uint64_t* sval
    uint32_t* srow


cdef Src _source(int kind, tuple src) except *:
    """Pointers into the arrays of ``src`` (which the caller keeps alive)."""
    cdef const uint64_t[::1] words = src[0]
    cdef const uint64_t[:, ::1] fixed = src[1]
    cdef const int64_t[::1] offsets = src[2]
    cdef const uint8_t[::1] data = src[3]
    cdef Src s
    s.kind = kind
    s.words = &words[0] if words.shape[0] else NULL
    s.fixed = &fixed[0, 0] if fixed.shape[0] and fixed.shape[1] else NULL
    s.width = fixed.shape[1]
    s.offsets = &offsets[0] if offsets.shape[0] else NULL
    s.data = &data[0] if data.shape[0] else NULL
    s.n_data = data.shape[0]
    if kind == K_WORD:
        s.n = words.shape[0]
    elif kind == K_FIXED:
        s.n = fixed.shape[0]
    else:
        s.n = max(0, offsets.shape[0] - 1)
    return s


cdef Table _table(tuple table) except *:
    cdef const int64_t[::1] gbase = table[0]
    cdef uint64_t[::1] tags = table[1]
    cdef uint64_t[::1] sval = table[2]
    cdef uint32_t[::1] srow = table[3]
    cdef Table t
    t.gbase = &gbase[0]
    t.tags = &tags[0]
    t.sval = &sval[0] if sval.shape[0] else NULL
    t.srow = &srow[0] if srow.shape[0] else NULL
    return t


cdef inline const uint8_t* _bytes(const uint8_t[::1] a) noexcept:
    """Pointer to a flag array, NULL when it is empty (no flags)."""
    return &a[0] if a.shape[0] else NULL


cdef inline uint8_t* _wbytes(uint8_t[::1] a) noexcept:
    return &a[0] if a.shape[0] else NULL


# --------------------------------------------------------------------------- block loops

cdef void _values_c(const Src* s, Py_ssize_t lo, Py_ssize_t hi, uint64_t* out) noexcept nogil:
    """``out[r] =`` the 64-bit value of row ``lo + r`` for rows ``lo .. hi - 1``: the key
    (``WORD``) or a hash of the record (``FIXED``) or of the bytes and length (``VAR``)."""
    cdef Py_ssize_t i, k, p, start, end, left, width = s.width
    cdef uint64_t h, w
    cdef const uint64_t* rec
    if s.kind == K_WORD:
        for i in range(lo, hi):
            out[i - lo] = s.words[i]
    elif s.kind == K_FIXED:
        for i in range(lo, hi):
            h = 0x243F6A8885A308D3ULL
            rec = s.fixed + i * width
            for k in range(width):
                h = _absorb(h, rec[k])
            out[i - lo] = _mix(h)
    else:
        # Bytes are taken 8 at a time, little-endian, the last word zero-padded (one 8-byte
        # load where it lies inside the buffer, else byte by byte: same word).
        for i in range(lo, hi):
            start = s.offsets[i]
            end = s.offsets[i + 1]
            h = _absorb(0x243F6A8885A308D3ULL, <uint64_t>(end - start))
            p = start
            while end - p >= 8:
                h = _absorb(h, _load64le(s.data + p))
                p += 8
            left = end - p
            if left > 0:
                if p + 8 <= s.n_data:
                    w = _load64le(s.data + p) & ((1ULL << (8 * left)) - 1)
                else:
                    w = 0
                    for k in range(left):
                        w |= (<uint64_t>s.data[p + k]) << (8 * k)
                h = _absorb(h, w)
            out[i - lo] = _mix(h)


cdef inline bint _same(const Src* a, Py_ssize_t i, const Src* b, Py_ssize_t j) noexcept nogil:
    """Row ``i`` of one side equals row ``j`` of the other, compared in full (``FIXED``:
    every word of the records; ``VAR``: length and every byte)."""
    cdef int64_t start_a, start_b, n
    if a.kind == K_FIXED:
        return memcmp(a.fixed + i * a.width, b.fixed + j * b.width, 8 * a.width) == 0
    start_a = a.offsets[i]
    n = a.offsets[i + 1] - start_a
    start_b = b.offsets[j]
    if b.offsets[j + 1] - start_b != n:
        return False
    return n == 0 or memcmp(a.data + start_a, b.data + start_b, n) == 0


cdef void _histogram(int kind, const uint64_t* vals, Py_ssize_t m, const uint8_t* excl,
                     Py_ssize_t lo, uint64_t hash_mask, int pbits,
                     int64_t* counts) noexcept nogil:
    """Add the partition counts of the ``m`` values (rows ``lo ..``) to ``counts``."""
    cdef Py_ssize_t r
    for r in range(m):
        if excl != NULL and excl[lo + r]:
            continue
        counts[_partition(_hash(kind, vals[r], hash_mask), pbits)] += 1


cdef void _scatter(int kind, const uint64_t* vals, Py_ssize_t m, const uint8_t* excl,
                   Py_ssize_t lo, uint64_t hash_mask, int pbits, int64_t* offs,
                   uint64_t* out_vals, uint32_t* out_rows) noexcept nogil:
    """Write value and row of each row to its partition's next position (``offs``); rows
    only when ``out_rows`` is not NULL (``WORD`` tables keep no rows)."""
    cdef Py_ssize_t r, p, pos
    cdef uint64_t v
    for r in range(m):
        if excl != NULL and excl[lo + r]:
            continue
        v = vals[r]
        p = _partition(_hash(kind, v, hash_mask), pbits)
        pos = offs[p]
        offs[p] = pos + 1
        out_vals[pos] = v
        if out_rows != NULL:
            out_rows[pos] = <uint32_t>(lo + r)


cdef void _insert(const Src* s, const uint64_t* pval, const uint32_t* prow, Py_ssize_t lo,
                  Py_ssize_t hi, Py_ssize_t g0, Py_ssize_t g1, Table* t,
                  uint64_t hash_mask) noexcept nogil:
    """Enter values ``pval[lo:hi]`` (rows ``prow``) in the groups ``g0:g1`` of one
    partition, each distinct value once (its first row stays the representative)."""
    cdef Py_ssize_t k, g, slot, lane, n_groups = g1 - g0
    cdef int kind = s.kind
    cdef uint64_t v, h, tag, word, m, empty
    cdef uint32_t i
    cdef bint duplicate
    for k in range(lo, hi):
        v = pval[k]
        h = _hash(kind, v, hash_mask)
        tag = _tag(h)
        g = g0 + _group(h, n_groups)
        i = prow[k] if prow != NULL else 0  # rows: FIXED / VAR only
        while True:
            word = t.tags[g]
            m = _matches(word, tag)
            duplicate = False
            while m != 0:
                slot = g * 8 + (_ctz(m) >> 3)
                if t.sval[slot] == v and (kind == K_WORD or _same(s, t.srow[slot], s, i)):
                    duplicate = True
                    break
                m &= m - 1
            if duplicate:
                break
            empty = _zero_bytes(word)
            if empty != 0:
                lane = _ctz(empty) >> 3
                t.tags[g] = word | (tag << (8 * lane))
                t.sval[g * 8 + lane] = v
                if t.srow != NULL:
                    t.srow[g * 8 + lane] = i
                break
            g += 1
            if g == g1:
                g = g0


cdef inline void _prefetch_rows(int kind, const Table* t, const uint64_t* vals, uint64_t todo,
                                Py_ssize_t pos0, uint64_t hash_mask, int pbits,
                                uint8_t* hit) noexcept nogil:
    """Cache hints for the home groups of the values ``vals[pos0 + k]``, ``k`` a set bit of
    ``todo``: their tag word, their values and their hit flags."""
    cdef Py_ssize_t q, g0, n_groups, g
    cdef uint64_t h
    while todo != 0:
        h = _hash(kind, vals[pos0 + _ctz(todo)], hash_mask)
        todo &= todo - 1
        q = _partition(h, pbits)
        g0 = t.gbase[q]
        n_groups = t.gbase[q + 1] - g0
        if n_groups == 0:
            continue
        g = g0 + _group(h, n_groups)
        _prefetch(&t.tags[g])
        _prefetch(&t.sval[8 * g])
        _prefetchw(&hit[8 * g])


cdef int64_t _run(int mode, const Src* s, const Table* t, const Src* b, const uint64_t* vals,
                  Py_ssize_t m, Py_ssize_t row0, const uint8_t* excl, uint64_t hash_mask,
                  int pbits, uint8_t* mask, uint8_t* hit, uint8_t* found, bint stop_first,
                  bint prefetch, uint64_t* bits) noexcept nogil:
    """Look up values ``vals[0:m]`` of rows ``row0 ..`` of the probe side ``b``.

    ``PROBE``: the first pass (``fastml_candidates``, in C above) sets aside the values that
    are certainly absent; the others get the full search (tag candidates, value and record
    comparison, next groups).
    Returns the number of hits. ``READ``: the values are the build side's own; each finds
    its entry and copies the entry's ``hit`` flag to ``mask``. ``bits`` is scratch space of
    ``ceil(m / 64)`` words. ``prefetch`` (for tables larger than a cache): the memory a row
    will read is requested ahead of its lookup (the first pass: the next 64 rows' tag
    words; the full search: the home groups of the rows ``ahead`` words of 64 rows on), so
    that the cache misses overlap instead of queueing one after another.
    """
    cdef int kind = s.kind
    cdef Py_ssize_t n_words = (m + 63) // 64, w, pos, j, q, g0, n_groups, g, slot, sl
    cdef Py_ssize_t ahead = 0 if not prefetch else 8 if mode == M_PROBE else 1
    cdef uint64_t todo, v, h, tag, word, mm
    cdef int64_t hits = 0
    if mode == M_PROBE:
        _candidates_c(kind, t.gbase, t.tags, vals, m, hash_mask, pbits, prefetch, bits)
    else:
        for w in range(n_words):
            bits[w] = ~(<uint64_t>0)
        if m % 64:
            bits[n_words - 1] = ((<uint64_t>1) << (m % 64)) - 1
    for w in range(min(ahead, n_words)):
        _prefetch_rows(kind, t, vals, bits[w], 64 * w, hash_mask, pbits, hit)
    for w in range(n_words):
        if stop_first and _flag(found):
            break
        if ahead and w + ahead < n_words:
            _prefetch_rows(kind, t, vals, bits[w + ahead], 64 * (w + ahead), hash_mask, pbits,
                           hit)
        todo = bits[w]
        while todo != 0:
            pos = 64 * w + _ctz(todo)
            todo &= todo - 1
            j = row0 + pos
            if excl != NULL and excl[j]:
                continue
            v = vals[pos]
            h = _hash(kind, v, hash_mask)
            q = _partition(h, pbits)
            g0 = t.gbase[q]
            n_groups = t.gbase[q + 1] - g0
            if n_groups == 0:
                continue
            tag = _tag(h)
            g = _group(h, n_groups)
            slot = -1
            while True:
                word = t.tags[g0 + g]
                mm = _matches(word, tag)
                while mm != 0:
                    sl = (g0 + g) * 8 + (_ctz(mm) >> 3)
                    if t.sval[sl] == v and (kind == K_WORD or _same(s, t.srow[sl], b, j)):
                        slot = sl
                        break
                    mm &= mm - 1
                if slot >= 0 or _zero_bytes(word) != 0:
                    break
                g += 1
                if g == n_groups:
                    g = 0
            if slot < 0:
                continue
            if mode == M_READ:
                if mask != NULL:
                    mask[j] = hit[slot]
            else:
                hits += 1
                hit[slot] = 1
                found[0] = 1
                if mask != NULL:
                    mask[j] = 1
    return hits


def simd_level(cap=None):
    """Instruction-set level of the probe's first pass: 2 (AVX-512), 1 (AVX2), 0 (baseline).

    ``cap`` (a test hook) caps it from now on, so tests can run every build of the pass on
    one machine; ``simd_level(2)`` restores the default.
    """
    global _simd_cap
    if cap is not None:
        _simd_cap = max(0, min(2, int(cap)))
    return _simd_level()


# ---------------------------------------------------------------------- parallel driving

def _block_rows(Py_ssize_t n):
    """(number of blocks, rows per block) of ``n`` rows: blocks of at most ``_BLOCK_ROWS``."""
    nblk = max(1, -(-n // BLOCK_ROWS))
    return nblk, max(1, -(-n // nblk))


def _parallel(fn, Py_ssize_t n_items, Py_ssize_t n_rows, *args):
    """``fn(*args, i0, i1)`` over ``[0, n_items)`` (blocks or partitions holding ``n_rows``
    rows in all), cut into at most ``_MAX_TASKS`` ranges of about ``_SERIAL_ROWS`` rows or
    more, fixed by the sizes, and run by the parallel driver. Small work (fewer than
    ``_SERIAL_ROWS`` rows) or one thread: a single call on the calling thread. The cut never
    changes a result (see the module docstring), only how the work is shared."""
    if n_rows < _SERIAL_ROWS or n_items <= 1 or get_num_threads() == 1:
        fn(*args, 0, n_items)
        return
    count, size = blocks(n_items, -(-_SERIAL_ROWS * n_items // n_rows), _MAX_TASKS)
    map_tasks(lambda t: fn(*args, t * size, min(n_items, (t + 1) * size)), count)


def _values(int kind, words, fixed, offsets, data, Py_ssize_t lo, Py_ssize_t hi,
            uint64_t[::1] out):
    """``out[r] =`` the 64-bit value of row ``lo + r`` for rows ``lo .. hi - 1`` (see
    :func:`_values_c`)."""
    cdef Src s = _source(kind, (words, fixed, offsets, data))
    cdef uint64_t* o = &out[0] if out.shape[0] else NULL
    if hi > lo:
        with nogil:
            _values_c(&s, lo, hi, o)


def count_blocks(int kind, tuple src, const uint8_t[::1] excl, int pbits, uint64_t hash_mask,
                 Py_ssize_t rows, int64_t[:, ::1] hist, Py_ssize_t b0, Py_ssize_t b1):
    """Build, pass 1: per block of ``rows`` rows, the row count of each partition."""
    cdef Src s = _source(kind, src)
    cdef const uint8_t* ex = _bytes(excl)
    cdef uint64_t[::1] scratch = np.empty(rows, np.uint64)
    cdef uint64_t* vals = &scratch[0]
    cdef Py_ssize_t b, lo, hi
    with nogil:
        for b in range(b0, b1):
            lo = b * rows
            hi = min(s.n, lo + rows)
            if hi <= lo:
                continue
            _values_c(&s, lo, hi, vals)
            _histogram(kind, vals, hi - lo, ex, lo, hash_mask, pbits, &hist[b, 0])


def scatter_blocks(int kind, tuple src, const uint8_t[::1] excl, int pbits, uint64_t hash_mask,
                   Py_ssize_t rows, int64_t[:, ::1] offs, uint64_t[::1] pval,
                   uint32_t[::1] prow, Py_ssize_t b0, Py_ssize_t b1):
    """Build, pass 2: value and row of every row to its partition's next position."""
    cdef Src s = _source(kind, src)
    cdef const uint8_t* ex = _bytes(excl)
    cdef uint64_t[::1] scratch = np.empty(rows, np.uint64)
    cdef uint64_t* vals = &scratch[0]
    cdef uint64_t* pv = &pval[0] if pval.shape[0] else NULL
    cdef uint32_t* pr = &prow[0] if prow.shape[0] else NULL
    cdef Py_ssize_t b, lo, hi
    with nogil:
        for b in range(b0, b1):
            lo = b * rows
            hi = min(s.n, lo + rows)
            if hi <= lo:
                continue
            # values recomputed: cheaper than keeping n of them from pass 1
            _values_c(&s, lo, hi, vals)
            _scatter(kind, vals, hi - lo, ex, lo, hash_mask, pbits, &offs[b, 0], pv, pr)


def insert_partitions(int kind, tuple src, const uint64_t[::1] pval, const uint32_t[::1] prow,
                      const int64_t[::1] pstart, tuple table, uint64_t hash_mask,
                      Py_ssize_t p0, Py_ssize_t p1):
    """Build, pass 3: fill the tables of partitions ``p0:p1``."""
    cdef Src s = _source(kind, src)
    cdef Table t = _table(table)
    cdef const uint64_t* pv = &pval[0] if pval.shape[0] else NULL
    cdef const uint32_t* pr = &prow[0] if prow.shape[0] else NULL
    cdef Py_ssize_t p
    with nogil:
        for p in range(p0, p1):
            _insert(&s, pv, pr, pstart[p], pstart[p + 1], t.gbase[p], t.gbase[p + 1], &t,
                    hash_mask)


def probe_blocks(int kind, int mode, tuple src_s, tuple table, int pbits, uint64_t hash_mask,
                 tuple src_b, const uint8_t[::1] excl_b, bint stop_first, uint8_t[::1] mask,
                 uint8_t[::1] hit, uint8_t[::1] found, Py_ssize_t rows, int64_t[::1] counts,
                 bint prefetch, Py_ssize_t b0, Py_ssize_t b1):
    """Look rows of ``src_b`` (blocks ``b0:b1`` of ``rows`` rows) up in ``table``, built from
    ``src_s``; ``counts[b]``: the hits of block ``b``.

    ``PROBE``: a hit sets ``hit[slot]``, ``found[0]`` and, when ``mask`` is not empty,
    ``mask[row]``; with ``stop_first`` the work ends soon after the first hit. ``READ``
    (``src_b`` is ``src_s``): ``mask[row] = hit[slot]``, which build rows were hit.
    """
    cdef Src s = _source(kind, src_s)
    cdef Src pb = _source(kind, src_b)
    cdef Table t = _table(table)
    cdef const uint8_t* ex = _bytes(excl_b)
    cdef uint8_t* mk = _wbytes(mask)
    cdef uint8_t* fd = &found[0]
    cdef uint8_t* ht = &hit[0]
    cdef Py_ssize_t n_words = (rows + 63) // 64
    cdef uint64_t[::1] scratch = np.empty(n_words + (0 if kind == K_WORD else rows), np.uint64)
    cdef uint64_t* bits = &scratch[0]
    cdef uint64_t* own = bits + n_words
    cdef const uint64_t* vals
    cdef Py_ssize_t b, lo, hi
    with nogil:
        for b in range(b0, b1):
            if stop_first and _flag(fd):
                break
            lo = b * rows
            hi = min(pb.n, lo + rows)
            if hi <= lo:
                continue
            if kind == K_WORD:  # the keys are the values: no copy
                vals = pb.words + lo
            else:
                _values_c(&pb, lo, hi, own)
                vals = own
            counts[b] = _run(mode, &s, &t, &pb, vals, hi - lo, lo, ex, hash_mask, pbits, mk,
                             ht, fd, stop_first, prefetch, bits)


# ---------------------------------------------------------------------------- entry points

def _rows_of(int kind, tuple src):
    if kind == K_WORD:
        return src[0].shape[0]
    if kind == K_FIXED:
        return src[1].shape[0]
    return src[2].shape[0] - 1


def build(int kind, tuple src, excl, int pbits, hash_mask):
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
    total = int(pstart[n_part])
    pval = np.empty(total, np.uint64)
    prow = np.empty(0 if kind == K_WORD else total, np.uint32)  # WORD tables keep no rows
    _parallel(scatter_blocks, nblk, n, kind, src, excl, pbits, hash_mask, rows, offs, pval,
              prow)
    counts = np.diff(pstart)
    gbase = np.zeros(n_part + 1, np.int64)
    np.cumsum((counts * 5 + 15) // 16, out=gbase[1:])  # load at most 0.4
    n_groups = int(gbase[n_part])
    tags = np.zeros(n_groups + 1, np.uint64)  # + an empty sentinel: see _candidates
    sval = np.empty(n_groups * 8, np.uint64)
    srow = np.empty(0 if kind == K_WORD else n_groups * 8, np.uint32)
    table = (gbase, tags, sval, srow)
    _parallel(insert_partitions, n_part, total, kind, src, pval, prow, pstart, table,
              hash_mask)
    return table


def _prefetching(tuple table):
    """Whether lookups in ``table`` request their memory ahead: when its tag words take
    ``_PREFETCH_MIN_TAG_BYTES`` or more (below that they stay in cache, and the hints would
    only cost the extra hashing)."""
    return table[1].shape[0] * 8 >= _PREFETCH_MIN_TAG_BYTES


def probe(int kind, tuple src_s, tuple table, int pbits, hash_mask, tuple src_b, excl_b,
          stop_first, mask, hit, found):
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
              excl_b, bool(stop_first), mask, hit, found, rows, counts, _prefetching(table))
    return int(counts.sum())


def build_mask(int kind, tuple src_s, tuple table, int pbits, hash_mask, excl, hit, mask):
    """``mask[row] = 1`` for every row of the build side whose value was hit."""
    n = _rows_of(kind, src_s)
    if table[2].shape[0] == 0 or n == 0:
        return
    nblk, rows = _block_rows(n)
    counts = np.zeros(nblk, np.int64)
    found = np.zeros(1, np.uint8)
    _parallel(probe_blocks, nblk, n, kind, READ, src_s, table, pbits, hash_mask, src_s, excl,
              False, mask, hit, found, rows, counts, _prefetching(table))


def hit_slots(hit):
    """Slots whose entry was hit, in table order (int64)."""
    return np.flatnonzero(hit).astype(np.int64, copy=False)


# --------------------------------------------------------------------- dense int ranges
# When the build side's integers span a range not much larger than its row count, a byte per
# value of the range replaces the hash table: ``present[v - lo]``. No hashing at all, exact by
# construction; ``v - lo`` is taken modulo 2**64, which maps exactly the values lo .. lo +
# range - 1 to 0 .. range - 1 whether the words are read as int64 or as uint64.

def word_range(const uint64_t[::1] words, const uint8_t[::1] excl, bint signed,
               Py_ssize_t lo, Py_ssize_t hi):
    """``(count, min, max)`` of the rows ``lo:hi`` not excluded (min and max as Python ints
    in int64 order when ``signed``, else uint64 order; both None when the count is 0)."""
    if excl.shape[0] == 0:  # NumPy's min / max: vectorised for the CPU at hand
        if hi <= lo:
            return 0, None, None
        part = np.asarray(words[lo:hi]).view(np.int64 if signed else np.uint64)
        return hi - lo, int(part.min()), int(part.max())
    cdef const uint8_t* ex = _bytes(excl)
    cdef Py_ssize_t i, c = 0
    cdef int64_t smn = INT64_MAX, smx = INT64_MIN, sv
    cdef uint64_t umn = UINT64_MAX, umx = 0, uv
    with nogil:
        if signed:
            for i in range(lo, hi):
                if ex[i]:
                    continue
                sv = <int64_t>words[i]
                smn = min(smn, sv)
                smx = max(smx, sv)
                c += 1
        else:
            for i in range(lo, hi):
                if ex[i]:
                    continue
                uv = words[i]
                umn = min(umn, uv)
                umx = max(umx, uv)
                c += 1
    if c == 0:
        return 0, None, None
    if signed:
        return c, smn, smx
    return c, umn, umx


def dense_range(words, excl, bint signed):
    """(count, lo word, size) of the range of the rows not excluded (size 0 when none)."""
    n = words.shape[0]
    if n < _SERIAL_ROWS or get_num_threads() == 1:
        parts = [word_range(words, excl, signed, 0, n)]
    else:
        count, size = blocks(n, _SERIAL_ROWS, _MAX_TASKS)
        parts = map_tasks(
            lambda t: word_range(words, excl, signed, t * size, min(n, (t + 1) * size)), count)
    total = sum(p[0] for p in parts)
    if total == 0:
        return 0, np.uint64(0), 0
    lo = min(p[1] for p in parts if p[0])
    hi = max(p[2] for p in parts if p[0])
    return total, np.uint64(lo % 2**64), hi - lo + 1


def dense_build(const uint64_t[::1] words, const uint8_t[::1] excl, uint64_t lo_word,
                uint8_t[::1] present, Py_ssize_t rows, Py_ssize_t b0, Py_ssize_t b1):
    """``present[v - lo_word] = 1`` for the rows of blocks ``b0:b1`` not excluded."""
    cdef const uint8_t* ex = _bytes(excl)
    cdef uint8_t* pr = &present[0]
    cdef Py_ssize_t i, n = words.shape[0]
    cdef Py_ssize_t lo = min(n, b0 * rows), hi = min(n, b1 * rows)
    with nogil:
        for i in range(lo, hi):
            if ex != NULL and ex[i]:
                continue
            pr[words[i] - lo_word] = 1


def dense_probe(int mode, const uint64_t[::1] words, const uint8_t[::1] excl, uint64_t lo_word,
                const uint8_t[::1] present, uint8_t[::1] hit, uint8_t[::1] mask,
                uint8_t[::1] found, bint stop_first, Py_ssize_t rows, int64_t[::1] counts,
                Py_ssize_t b0, Py_ssize_t b1):
    """Blocks ``b0:b1`` (of ``rows`` rows) of ``words`` against ``present``. ``PROBE``: a row
    whose value is present sets ``hit[v - lo_word]``, ``found[0]`` and, when ``mask`` is not
    empty, ``mask[row]``; ``counts[b]``: the hits of block ``b``. ``READ`` (the build side):
    ``mask[row] = hit[v - lo_word]``."""
    cdef const uint8_t* ex = _bytes(excl)
    cdef uint8_t* mk = _wbytes(mask)
    cdef const uint8_t* pr = &present[0]
    cdef uint8_t* ht = &hit[0]
    cdef uint8_t* fd = &found[0]
    cdef uint64_t d, size = present.shape[0]
    cdef Py_ssize_t b, i, end, n = words.shape[0]
    cdef int64_t c
    with nogil:
        for b in range(b0, b1):
            if stop_first and _flag(fd):
                break
            c = 0
            end = min(n, (b + 1) * rows)
            if mode == M_READ:
                for i in range(b * rows, end):
                    d = words[i] - lo_word
                    if d >= size or (ex != NULL and ex[i]):
                        continue
                    mk[i] = ht[d]
            else:
                for i in range(b * rows, end):
                    d = words[i] - lo_word
                    if d >= size or (ex != NULL and ex[i]) or not pr[d]:
                        continue
                    ht[d] = 1
                    c += 1
                    if mk != NULL:
                        mk[i] = 1
            if c:
                fd[0] = 1
            counts[b] = c


def dense_match(words_s, excl_s, lo_word, size, words_b, excl_b, stop_first, mask_b,
                want_build_mask):
    """The dense-range twin of build + probe (+ build_mask): ``(found, hit, mask_s)``."""
    present = np.zeros(size, np.uint8)
    n_s = words_s.shape[0]
    nblk_s, rows_s = _block_rows(n_s)
    # byte stores of the value 1 from several threads are harmless (see the module docstring)
    _parallel(dense_build, nblk_s, n_s, words_s, excl_s, lo_word, present, rows_s)
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


# ------------------------------------------------------------------ bitmaps of ID hashes
# The Dask back end (fastml._dask.leakage) keeps the rows of a partition whose hash has its
# bit set in a bitmap of the other side's hashes. Bit ``b = v >> shift`` of a value ``v`` is
# bit ``b & 7`` of byte ``b >> 3``. With ``mix`` the words are keys (int64 / uint64 / canonical
# float bits) and ``v = mix(word)``, 0 read as 1; without it they are hashes already and 0
# marks an ID that the hash cannot place (such a row is kept whatever the bitmap says).

cdef inline uint64_t _bitmap_value(uint64_t w, bint mix) noexcept nogil:
    if mix:
        w = _mix(w)
        return w if w else 1
    return w


cdef int _bitmap_check(Py_ssize_t n, const uint8_t[::1] excl, int shift,
                       const uint8_t[::1] bitmap) except -1:
    if not 3 <= shift <= 61 or bitmap.shape[0] != (<Py_ssize_t>1) << (61 - shift):
        raise ValueError(f"a bitmap for shift {shift} has 2**{61 - shift} bytes, got "
                         f"{bitmap.shape[0]}")
    if excl.shape[0] not in (0, n):
        raise ValueError(f"excl has {excl.shape[0]} flags for {n} rows")
    return 0


def bitmap_set(const uint64_t[::1] words, const uint8_t[::1] excl, bint mix, int shift,
               uint8_t[::1] bitmap):
    """Sets the bit of every row not excluded; True when one of their values is 0."""
    _bitmap_check(words.shape[0], excl, shift, bitmap)
    cdef const uint8_t* ex = _bytes(excl)
    cdef uint8_t* bm = &bitmap[0]
    cdef Py_ssize_t i, n = words.shape[0]
    cdef uint64_t v
    cdef bint zero = False
    with nogil:
        for i in range(n):
            if ex != NULL and ex[i]:
                continue
            v = _bitmap_value(words[i], mix)
            zero |= v == 0
            v >>= shift
            bm[v >> 3] |= <uint8_t>(1 << (v & 7))
    return bool(zero)


def bitmap_probe(const uint64_t[::1] words, const uint8_t[::1] excl, bint mix, int shift,
                 const uint8_t[::1] bitmap, uint8_t[::1] keep):
    """``keep[i] = 1`` for the rows not excluded whose value is 0 or has its bit set, else 0;
    returns how many are kept."""
    _bitmap_check(words.shape[0], excl, shift, bitmap)
    if keep.shape[0] != words.shape[0]:
        raise ValueError(f"keep has {keep.shape[0]} flags for {words.shape[0]} rows")
    cdef const uint8_t* ex = _bytes(excl)
    cdef const uint8_t* bm = &bitmap[0]
    cdef Py_ssize_t i, n = words.shape[0], count = 0
    cdef uint64_t v
    cdef uint8_t k
    with nogil:
        for i in range(n):
            v = _bitmap_value(words[i], mix)
            k = (v == 0) | ((bm[(v >> shift) >> 3] >> ((v >> shift) & 7)) & 1)
            if ex != NULL and ex[i]:
                k = 0
            keep[i] = k
            count += k
    return count


# ----------------------------------------------------------------------------- conversions

cdef inline Py_ssize_t _utf8_size(uint32_t c) noexcept nogil:
    return 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4


cdef inline Py_ssize_t _put_utf8(uint8_t* data, Py_ssize_t q, uint32_t c) noexcept nogil:
    """Write code point ``c`` as UTF-8 at ``data[q:]``; returns the next position."""
    if c < 0x80:
        data[q] = <uint8_t>c
        return q + 1
    if c < 0x800:
        data[q] = <uint8_t>(0xC0 | (c >> 6))
        data[q + 1] = <uint8_t>(0x80 | (c & 0x3F))
        return q + 2
    if c < 0x10000:
        data[q] = <uint8_t>(0xE0 | (c >> 12))
        data[q + 1] = <uint8_t>(0x80 | ((c >> 6) & 0x3F))
        data[q + 2] = <uint8_t>(0x80 | (c & 0x3F))
        return q + 3
    data[q] = <uint8_t>(0xF0 | (c >> 18))
    data[q + 1] = <uint8_t>(0x80 | ((c >> 12) & 0x3F))
    data[q + 2] = <uint8_t>(0x80 | ((c >> 6) & 0x3F))
    data[q + 3] = <uint8_t>(0x80 | (c & 0x3F))
    return q + 4


def utf32_to_utf8(const uint32_t[::1] codes, const int64_t[::1] char_offsets):
    """UTF-8 ``(offsets, data)`` of strings given as code points with their offsets.

    Lone surrogates are encoded like any other code point (as Python's "surrogatepass"
    does), so the encoding is one-to-one and byte order is code-point order.
    """
    cdef Py_ssize_t n = char_offsets.shape[0] - 1, i, k, q
    offsets = np.zeros(n + 1, np.int64)
    cdef int64_t[::1] off = offsets
    with nogil:
        for i in range(n):
            q = 0
            for k in range(char_offsets[i], char_offsets[i + 1]):
                q += _utf8_size(codes[k])
            off[i + 1] = off[i] + q
    data = np.empty(off[n], np.uint8)
    cdef uint8_t[::1] out = data
    with nogil:
        for i in range(n):
            q = off[i]
            for k in range(char_offsets[i], char_offsets[i + 1]):
                q = _put_utf8(&out[0], q, codes[k])
    return offsets, data


def fixed_utf32_to_utf8(const uint32_t[:, ::1] codes):
    """UTF-8 ``(offsets, data)`` of a fixed-width UTF-32 array (NumPy ``U``, viewed as
    ``(n, width)`` code points; trailing NULs are padding, as NumPy reads them)."""
    cdef Py_ssize_t n = codes.shape[0], w = codes.shape[1], i, k, c, q
    lengths_arr = np.empty(n, np.int64)
    offsets = np.zeros(n + 1, np.int64)
    cdef int64_t[::1] lengths = lengths_arr
    cdef int64_t[::1] off = offsets
    with nogil:
        for i in range(n):
            k = w
            while k > 0 and codes[i, k - 1] == 0:
                k -= 1
            lengths[i] = k
            q = 0
            for c in range(k):
                q += _utf8_size(codes[i, c])
            off[i + 1] = off[i] + q
    data = np.empty(off[n], np.uint8)
    cdef uint8_t[::1] out = data
    with nogil:
        for i in range(n):
            q = off[i]
            for c in range(lengths[i]):
                q = _put_utf8(&out[0], q, codes[i, c])
    return offsets, data


def gather_var(tuple src, const int64_t[::1] rows):
    """Offsets and bytes of ``rows`` of a ``VAR`` source, concatenated."""
    cdef const int64_t[::1] offsets = src[2]
    cdef const uint8_t[::1] data = src[3]
    cdef Py_ssize_t m = rows.shape[0], j, i, k, start
    out_offsets = np.empty(m + 1, np.int64)
    cdef int64_t[::1] oo = out_offsets
    oo[0] = 0
    with nogil:
        for j in range(m):
            i = rows[j]
            oo[j + 1] = oo[j] + offsets[i + 1] - offsets[i]
    out = np.empty(oo[m], np.uint8)
    cdef uint8_t[::1] o = out
    with nogil:
        for j in range(m):
            start = offsets[rows[j]]
            for k in range(oo[j + 1] - oo[j]):
                o[oo[j] + k] = data[start + k]
    return out_offsets, out
