"""Shared IDs of two prepared ID columns: the dense or hash-table kernels, or a ``set``.

Integer IDs within a small enough range take the dense path (a byte per value of the range,
``_DENSE_BYTES_PER_ROW`` / ``_DENSE_MIN_BYTES``); other numbers, strings and bytes a parallel
hash table built on the smaller side and probed with the larger (``_partition_bits``,
``_hash_mask``); mixed objects Python's ``set`` semantics. The tunables and the hash mask are
read here at each call, so tests set them on this module.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastml._backend import kernels
from fastml.leakage._columns import (
    _E_U8,
    _buffers_of_bytes,
    _Column,
    _object_array,
)

_WORD, _FIXED, _VAR = 0, 1, 2
_ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)
_E_U64 = np.empty(0, np.uint64)
_E_U64_2D = np.empty((0, 1), np.uint64)
_E_I64 = np.zeros(1, np.int64)
_PARTITION_ROWS = 1 << 15  # build-side rows per partition of the hash table

# Test hook: hash bits used for partitions, groups and tags. Tests set it to 0 so that every
# value collides, which shows that results never depend on the hash.
_hash_mask = _ALL_BITS


@dataclass
class _Match:
    any: bool
    ids: np.ndarray | None = None  # sorted unique shared IDs
    mask_a: np.ndarray | None = None  # entity masks
    mask_b: np.ndarray | None = None


def _src(kind: int, words=None, fixed=None, var=None):
    if kind == _WORD:
        return (np.ascontiguousarray(words), _E_U64_2D, _E_I64, _E_U8)
    if kind == _FIXED:
        return (_E_U64, np.ascontiguousarray(fixed), _E_I64, _E_U8)
    offsets, data = var
    return (_E_U64, _E_U64_2D, np.ascontiguousarray(offsets), np.ascontiguousarray(data))


def _excl(skip, extra=None) -> np.ndarray:
    if skip is None and extra is None:
        return _E_U8
    if skip is None:
        mask = extra
    elif extra is None:
        mask = skip
    else:
        mask = skip | extra
    return np.ascontiguousarray(mask).view(np.uint8)


def _partition_bits(n: int) -> int:
    if n < 2 * _PARTITION_ROWS:
        return 0
    return min(12, math.ceil(math.log2(n / _PARTITION_ROWS)))


_DENSE_BYTES_PER_ROW = 16  # a dense range may take up to this many bytes per build-side row
_DENSE_MIN_BYTES = 1 << 16


def _kernel_match(kind, src_a, excl_a, n_a, src_b, excl_b, n_b, *, stop_first, want_rows,
                  want_masks, domains=None) -> tuple[bool, np.ndarray | None, Any, Any, bool]:
    """Build on the smaller side, probe with the larger. Returns (any, representative slots'
    values or rows, mask_a, mask_b, a_is_build).

    ``domains``: for ``WORD`` keys, how each side's words read as numbers ("i8", "u8", "f8");
    integers spanning a small enough range take the dense path (a byte per value).
    """
    K = kernels("leakage")
    a_build = n_a <= n_b
    s_src, s_excl, n_s = (src_a, excl_a, n_a) if a_build else (src_b, excl_b, n_b)
    b_src, b_excl, n_p = (src_b, excl_b, n_b) if a_build else (src_a, excl_a, n_a)
    want_probe = want_masks and (want_masks != "a" or not a_build)
    want_build = want_masks and (want_masks != "a" or a_build)
    domain = None if domains is None else domains[0 if a_build else 1]
    if domain in ("i8", "u8") and n_s:
        count, lo, size = K.dense_range(s_src[0], s_excl, domain == "i8")
        if 0 < size <= max(_DENSE_MIN_BYTES, _DENSE_BYTES_PER_ROW * n_s) and size < 2**31:
            probe_mask = np.zeros(n_p, np.uint8) if want_probe else _E_U8
            found, hit, build_mask = K.dense_match(
                s_src[0], s_excl, lo, size, b_src[0], b_excl, stop_first, probe_mask,
                want_build,
            )
            reps = np.flatnonzero(hit).astype(np.uint64) + lo if want_rows else None
            probe_mask = probe_mask.view(bool) if want_probe else None
            build_mask = build_mask.view(bool) if want_build else None
            mask_a, mask_b = (build_mask, probe_mask) if a_build else (probe_mask, build_mask)
            return found, reps, mask_a, mask_b, a_build
    if n_s >= K.MAX_BUILD_ROWS:
        raise ValueError("ID columns of more than 2**32 rows on both sides are not supported")
    pbits = _partition_bits(n_s)
    mask_hash = np.uint64(_hash_mask)
    table = K.build(kind, s_src, s_excl, pbits, mask_hash)
    hit = np.zeros(table[2].shape[0], np.uint8)
    found = np.zeros(1, np.uint8)
    probe_mask = np.zeros(n_p, np.uint8) if want_probe else _E_U8
    K.probe(kind, s_src, table, pbits, mask_hash, b_src, b_excl, stop_first, probe_mask, hit,
            found)
    any_hit = bool(found[0])
    reps = None
    if want_rows:
        slots = K.hit_slots(hit)
        reps = table[2][slots] if kind == _WORD else table[3][slots].astype(np.int64)
    build_mask = None
    if want_build:
        build_mask = np.zeros(n_s, np.uint8)
        if any_hit:
            K.build_mask(kind, s_src, table, pbits, mask_hash, s_excl, hit, build_mask)
        build_mask = build_mask.view(bool)
    probe_mask = probe_mask.view(bool) if want_probe else None
    mask_a, mask_b = (build_mask, probe_mask) if a_build else (probe_mask, build_mask)
    return any_hit, reps, mask_a, mask_b, a_build


def _match(a: _Column, b: _Column, *, stop_first=False, want_ids=False,
           want_masks: bool | str = False) -> _Match:
    """Shared IDs of two columns: whether any (``stop_first``: as soon as one is found), the
    sorted IDs (``want_ids``), entity masks of both sides (``want_masks``; "a": a's only)."""
    fam = {a.family, b.family}
    if a.temporal is not None or b.temporal is not None:
        if "empty" not in fam and not fam & {"str", "bytes"}:
            if a.family == b.family:
                m = _match_temporal(a, b, stop_first=stop_first, want_ids=want_ids,
                                    want_masks=want_masks)
                if m is not None:
                    return m
            # against numbers, mixed objects, another time family: as a set decides
            return _match_objects(a, b, stop_first=stop_first, want_ids=want_ids,
                                  want_masks=want_masks)
    if "empty" in fam or (len(fam) == 2 and "object" not in fam):
        # nothing shared: no IDs on a side, or numbers against strings, str against bytes
        return _Match(
            False,
            ids=_empty_ids(a, b) if want_ids else None,
            mask_a=np.zeros(a.n_entities, bool) if want_masks else None,
            mask_b=np.zeros(b.n_entities, bool) if want_masks else None,
        )
    if "object" in fam:
        return _match_objects(a, b, stop_first=stop_first, want_ids=want_ids,
                              want_masks=want_masks)
    if a.family == "num":
        return _match_numeric(a, b, stop_first=stop_first, want_ids=want_ids,
                              want_masks=want_masks)
    return _match_strings(a, b, stop_first=stop_first, want_ids=want_ids,
                          want_masks=want_masks)


def _match_temporal(a, b, *, stop_first, want_ids, want_masks) -> _Match | None:
    """Two columns of one time family: counts in the finer unit, through the numeric
    kernels (1 s == 1000 ms, as NumPy's ``==`` and hash say). None where the units have no
    common one (months against days) or a value would overflow it: the set path then."""
    try:
        common = np.promote_types(a.temporal.dtype, b.temporal.dtype)
    except TypeError:
        return None
    sides = []
    for col in (a, b):
        t = col.temporal
        with np.errstate(all="ignore"):
            conv = t.astype(common)
            nat = np.isnat(t)
            if not np.array_equal(np.isnat(conv), nat) or not np.array_equal(
                    conv.astype(t.dtype)[~nat], t[~nat]):
                return None
        sides.append(_Column("num", col.n_entities, col.n_rows, col.n_missing, skip=col.skip,
                             numeric=conv.view(np.int64)))
    m = _match_numeric(*sides, stop_first=stop_first, want_ids=want_ids,
                       want_masks=want_masks)
    if want_ids:
        m.ids = m.ids.view(common)
    return m


def _empty_ids(a: _Column, b: _Column) -> np.ndarray:
    if a.temporal is not None and b.temporal is not None and a.family == b.family:
        try:
            return np.empty(0, np.promote_types(a.temporal.dtype, b.temporal.dtype))
        except TypeError:
            return np.empty(0, dtype=object)
    if a.family == b.family == "num":
        return np.empty(0, _numeric_result_dtype(a.numeric.dtype, b.numeric.dtype))
    if a.family == b.family and a.fixed is not None and b.fixed is not None:
        return np.empty(0, a.fixed.dtype)
    return np.empty(0, dtype=object)


def _numeric_result_dtype(da: np.dtype, db: np.dtype) -> np.dtype:
    kinds = {da.kind, db.kind}
    if "f" in kinds:
        return np.dtype(np.float64)
    if kinds == {"b"}:
        return np.dtype(bool)
    if da == db == np.uint64:
        return np.dtype(np.uint64)
    return np.dtype(np.int64)


_TWO63 = float(2**63)
_TWO64 = float(2**64)


def _words(col: _Column, other: _Column) -> tuple[np.ndarray, np.ndarray | None, str]:
    """uint64 words of ``col`` for comparison with ``other`` under Python's ``==``, the rows
    that can match nothing on the other side, and how to read a word back ("i8", "u8",
    "f8")."""
    v, o = col.numeric, other.numeric
    if v.dtype.kind == "b":
        v = v.astype(np.int64)
    other_kind = "i" if o.dtype.kind == "b" else o.dtype.kind
    if v.dtype.kind == "f":
        if other_kind == "f":  # same float values, -0.0 == 0.0
            return np.add(v, 0.0).view(np.uint64), None, "f8"
        with np.errstate(invalid="ignore"):
            integral = np.isfinite(v) & (np.floor(v) == v)
            if other_kind == "u":
                ok = integral & (v >= 0.0) & (v < _TWO64)
                out = np.where(ok, v, 0.0).astype(np.uint64)
                return out, ~ok, "u8"
            ok = integral & (v >= -_TWO63) & (v < _TWO63)
            out = np.where(ok, v, 0.0).astype(np.int64).view(np.uint64)
            return out, ~ok, "i8"
    if v.dtype == np.uint64:  # values >= 2**63 equal no int64
        return v, (v >= np.uint64(2**63)) if other_kind == "i" else None, "u8"
    # int64: negative values equal no uint64
    if other_kind == "u":
        return v.view(np.uint64), v < 0, "i8"
    return v.view(np.uint64), None, "i8"


def _match_numeric(a, b, *, stop_first, want_ids, want_masks) -> _Match:
    wa, xa, read_a = _words(a, b)
    wb, xb, read_b = _words(b, a)
    excl_a, excl_b = _excl(a.skip, xa), _excl(b.skip, xb)
    hit, reps, mask_a, mask_b, a_build = _kernel_match(
        _WORD, _src(_WORD, words=wa), excl_a, a.n_entities, _src(_WORD, words=wb), excl_b,
        b.n_entities, stop_first=stop_first, want_rows=want_ids, want_masks=want_masks,
        domains=(read_a, read_b))
    ids = None
    if want_ids:
        read = read_a if a_build else read_b
        values = reps.view({"i8": np.int64, "u8": np.uint64, "f8": np.float64}[read])
        ids = np.sort(values.astype(_numeric_result_dtype(a.numeric.dtype, b.numeric.dtype)))
    return _Match(hit, ids, mask_a, mask_b)


def _fixed_words(arr: np.ndarray, itemsize: int) -> np.ndarray:
    """(n, itemsize / 8) uint64 view of a U / S array cast to ``itemsize`` bytes a record."""
    char = 4 if arr.dtype.kind == "U" else 1
    dtype = np.dtype(f"{arr.dtype.kind}{itemsize // char}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr.view(np.uint64).reshape(arr.shape[0], itemsize // 8)


def _var_of_fixed(col: _Column) -> tuple[np.ndarray, np.ndarray]:
    arr = np.ascontiguousarray(col.fixed)
    if arr.dtype.kind == "U":
        width = arr.dtype.itemsize // 4
        if width == 0:
            return np.zeros(arr.shape[0] + 1, np.int64), _E_U8
        codes = arr.view(np.uint32).reshape(arr.shape[0], width)
        return kernels("leakage").fixed_utf32_to_utf8(codes)
    return _buffers_of_bytes(arr.tolist())  # NumPy strips the NUL padding of S values


def _match_strings(a, b, *, stop_first, want_ids, want_masks) -> _Match:
    if a.fixed is not None and b.fixed is not None:
        size = max(a.fixed.dtype.itemsize, b.fixed.dtype.itemsize, 1)
        size = (size + 7) // 8 * 8
        src_a = _src(_FIXED, fixed=_fixed_words(a.fixed, size))
        src_b = _src(_FIXED, fixed=_fixed_words(b.fixed, size))
        kind = _FIXED
    else:
        var_a = a.var if a.var is not None else _var_of_fixed(a)
        var_b = b.var if b.var is not None else _var_of_fixed(b)
        src_a, src_b = _src(_VAR, var=var_a), _src(_VAR, var=var_b)
        kind = _VAR
    hit, reps, mask_a, mask_b, a_build = _kernel_match(
        kind, src_a, _excl(a.skip), a.n_entities, src_b, _excl(b.skip), b.n_entities,
        stop_first=stop_first, want_rows=want_ids, want_masks=want_masks)
    ids = None
    if want_ids:
        owner, src = (a, src_a) if a_build else (b, src_b)
        if kind == _FIXED:
            wider = max(a.fixed.dtype, b.fixed.dtype, key=lambda d: d.itemsize)
            ids = np.sort(owner.fixed[reps]).astype(wider)
        else:
            ids = _decode_var(src, reps, owner.family)
            ids = np.array(sorted(ids) + [None], dtype=object)[:-1]
    return _Match(hit, ids, mask_a, mask_b)


def _decode_var(src, rows: np.ndarray, family: str) -> list:
    offsets, data = kernels("leakage").gather_var(src, np.ascontiguousarray(rows))
    buf = data.tobytes()
    bounds = offsets.tolist()
    if family == "bytes":
        return [buf[bounds[i]:bounds[i + 1]] for i in range(len(rows))]
    if buf.isascii():
        text = buf.decode("ascii")
        return [text[bounds[i]:bounds[i + 1]] for i in range(len(rows))]
    return [buf[bounds[i]:bounds[i + 1]].decode("utf-8", "surrogatepass")
            for i in range(len(rows))]


def _objects_of(col: _Column) -> np.ndarray:
    """Entities of ``col`` as Python objects (for the set path)."""
    if col.objects is not None:
        return col.objects
    if col.temporal is not None:
        col.objects = col.lazy_objects() if col.lazy_objects is not None else _object_array(
            col.temporal)
        return col.objects
    if col.numeric is not None:
        return col.numeric.astype(object)
    if col.fixed is not None:
        return col.fixed.astype(object)
    return np.array(_decode_var(_src(_VAR, var=col.var), np.arange(col.n_entities),
                                col.family) + [None], dtype=object)[:-1]


def _match_objects(a, b, *, stop_first, want_ids, want_masks) -> _Match:
    va, vb = _objects_of(a), _objects_of(b)
    # what is hashed: the values, or their exact keys (long doubles)
    ha = a.keys if a.keys is not None else va
    hb = b.keys if b.keys is not None else vb
    ka = np.flatnonzero(~a.skip) if a.skip is not None else range(a.n_entities)
    kb = np.flatnonzero(~b.skip) if b.skip is not None else range(b.n_entities)
    first: dict = {}  # key -> the first equal value of a
    try:
        for i in ka:
            first.setdefault(ha[i], va[i])
        if stop_first and not want_masks and not want_ids:
            return _Match(any(hb[j] in first for j in kb))
        shared: dict = {}
        mask_b = np.zeros(b.n_entities, bool) if want_masks else None
        for j in kb:
            h = hb[j]
            if h in first:
                shared.setdefault(h, first[h])
                if want_masks:
                    mask_b[j] = True
        mask_a = None
        if want_masks:
            mask_a = np.zeros(a.n_entities, bool)
            for i in ka:
                if ha[i] in shared:
                    mask_a[i] = True
    except TypeError as exc:
        raise TypeError(f"IDs must be hashable: {exc}") from None
    except ArithmeticError as exc:  # e.g. Decimal comparisons the context traps
        raise ValueError(f"IDs that cannot be compared: {exc!r}") from None
    ids = _sorted_objects(list(shared.values())) if want_ids else None
    return _Match(bool(shared), ids, mask_a, mask_b)


def _sorted_objects(values: list) -> np.ndarray:
    """Mixed IDs in a fixed order: numbers (by value), then str, then bytes, then other
    types grouped by type name (by value where they compare, else by repr)."""
    groups: dict[tuple, list] = {}
    for v in values:
        if isinstance(v, (numbers.Real, np.number)) and not isinstance(v, np.complexfloating):
            key = (0, "")
        elif isinstance(v, str):
            key = (1, "")
        elif isinstance(v, bytes):
            key = (2, "")
        else:
            key = (3, type(v).__qualname__)
        groups.setdefault(key, []).append(v)
    out: list = []
    for key in sorted(groups):
        group = groups[key]
        try:
            out += sorted(group)
        except TypeError:
            out += sorted(group, key=repr)
    arr = np.empty(len(out), dtype=object)
    arr[:] = out
    return arr
