"""Shared IDs between data splits: exact leakage checks on large ID columns.

The question "does any patient (user, document, device) of the training set also occur in
the test set?" is usually asked as::

    len(set(df1[col].unique()) & set(df2[col].unique())) >= 1

This module answers it, and the follow-up questions (which IDs, which rows), without Python
objects for the common ID columns: a parallel hash table is built on the smaller side and
probed with the larger (``fastml.kernels.cpu.leakage``).

What counts as the same ID: Python's ``==`` on the values, as a ``set`` would decide, so
``1 == 1.0 == True`` are one ID and ``1`` and ``"1"`` are two; ``b"a"`` and ``"a"`` differ.
Missing values (``None``, NaN, ``pd.NA``, ``pd.NaT``, Arrow / polars nulls) are never shared
IDs; they are counted separately (:func:`leakage_report`). This is the one deliberate
difference from the set expression, which reports a leak when both sides hold ``None``.

- Times: datetime64 / timedelta64 columns (NumPy, pandas; Arrow and polars durations,
  timestamps without a time zone and times of day, read as datetime64 / timedelta64 of
  their unit) compare as NumPy compares them: the same instant or duration whatever the
  unit (1 s == 1000 ms; a day is its midnight), NaT missing. A duration never equals a number
  (NumPy's ``==`` says ``np.timedelta64(1, "s") == 1``, but its hash is a duration's, so a
  set keeps them apart); times of day equal only times of day. Against Python objects
  (``datetime``, ``pd.Timestamp``, in object columns) the set decides. Zoned timestamps and
  dates take the set path on the objects Arrow / pandas give.
- Long doubles compare by exact value: 2**53 + 1 is not 2**53 (NumPy hashes a long double
  as its float64 rounding, so a plain set can miss that it equals ``2**53 + 1`` as an int).
- Decimals and 128-bit integers (polars ``Decimal`` / ``Int128`` / ``UInt128``, Arrow
  decimals) compare by value, as Python's ``Decimal`` and ``int``: ``Decimal("1.0") == 1``.
- Nested values (lists, structs, maps) are refused with a ``TypeError``, as a set refuses
  unhashable values.

Accepted ID columns (1-D): NumPy arrays of bool / int / uint / float (long double too),
datetime64 / timedelta64, fixed-width ``U`` / ``S`` strings and objects; lists and tuples;
pandas Series and Index of any dtype (object, ``str`` / ``string`` / ``string[pyarrow]``,
categorical, nullable ``Int64`` ...); pyarrow Arrays and ChunkedArrays; polars Series. Fast
paths (no Python object per row): numeric columns, NumPy fixed-width strings, Arrow-backed
strings (pandas ``str`` with pyarrow, pyarrow, polars), object columns holding only ``str``
(or only ints, floats, bytes) plus missing values, and categoricals (worked on their
categories). Integer IDs within a range at most 16 times the smaller side's row count use a
byte per value of the range instead of the hash table. datetime64 / timedelta64 columns use
the integer path on counts in their common unit. Anything else (an object column mixing ints
and strings, Python datetimes, decimals, long doubles that float64 does not hold) takes a
plain ``set``-based path with the same semantics.

Threads: the kernels run in parallel on fastml's threads (``FASTML_NUM_THREADS`` or
``fastml.set_num_threads``); results do not depend on the thread count.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from itertools import combinations
from typing import Any

import numpy as np

from fastml._backend import is_cupy, is_dask, kernels

__all__ = [
    "LeakageReport",
    "PairLeakage",
    "has_leakage",
    "leakage",
    "leakage_report",
    "overlap_mask",
    "shared_ids",
]

_WORD, _FIXED, _VAR = 0, 1, 2
_ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)
_E_U64 = np.empty(0, np.uint64)
_E_U64_2D = np.empty((0, 1), np.uint64)
_E_I64 = np.zeros(1, np.int64)
_E_U8 = np.empty(0, np.uint8)
_PARTITION_ROWS = 1 << 15  # build-side rows per partition of the hash table

# Test hook: hash bits used for partitions, groups and tags. Tests set it to 0 so that every
# value collides, which shows that results never depend on the hash.
_hash_mask = _ALL_BITS


# ------------------------------------------------------------------------- ID columns


@dataclass
class _Column:
    """An ID column in one of the forms the kernels read.

    ``family``: "num", "str", "bytes", "object", "empty", or one of the time families:
    "M8" (datetimes without a time zone), "m8" (durations), "t8" (Arrow times of day). The
    values are *entities*: the rows themselves, or the categories of a dictionary-encoded
    column (``codes`` maps rows to entities, -1 = missing).
    """

    family: str
    n_entities: int
    n_rows: int
    n_missing: int
    skip: np.ndarray | None = None  # bool per entity: missing or unused, never matched
    numeric: np.ndarray | None = None  # "num": int64, uint64 or float64 (or bool)
    fixed: np.ndarray | None = None  # "str"/"bytes": NumPy U or S array
    var: tuple[np.ndarray, np.ndarray] | None = None  # "str"/"bytes": (int64 offsets, data)
    objects: np.ndarray | None = None  # "object": object array
    keys: np.ndarray | None = None  # "object": what the set path hashes, where not objects
    temporal: np.ndarray | None = None  # time families: datetime64 / timedelta64 values
    lazy_objects: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    codes: np.ndarray | None = None  # dictionary encoding: entity index of each row
    _kernel_src: dict = field(default_factory=dict, repr=False)

    def row_mask(self, entity_mask: np.ndarray) -> np.ndarray:
        """Entity mask -> row mask (missing rows False)."""
        if self.codes is None:
            return entity_mask
        padded = np.append(entity_mask, False)  # code -1 reads the False at the end
        return padded[self.codes]


def _as_column(x, name: str = "ids") -> _Column:
    """Recognise the type of an ID column and put it in kernel-ready form (no copy where the
    input allows it)."""
    module = type(x).__module__.split(".", 1)[0]
    if module == "pandas":
        return _from_pandas(x, name)
    if module == "pyarrow":
        if hasattr(x, "column_names"):  # a Table or RecordBatch, not a column
            raise TypeError(
                f"{name} is a pyarrow {type(x).__name__} with columns "
                f"{list(x.column_names)[:5]}: pass one ID column ({name}[col] or "
                f"{name}.column(col)), or the tables with leakage(df1, df2, col) or "
                "leakage_report(..., id_col=col)"
            )
        return _from_arrow(x, name)
    if module == "polars":
        return _from_polars(x, name)
    if isinstance(x, np.ndarray):
        return _from_numpy(x, name)
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError(f"{name} must be a 1-D column of IDs (an array, Series, list...), "
                        f"got {type(x).__name__}")
    if hasattr(x, "__array__") and not isinstance(x, (list, tuple)):
        return _from_numpy(np.asarray(x), name)
    arr = np.empty(len(x), dtype=object)
    arr[:] = list(x)
    return _from_objects(arr)


def _from_numpy(x: np.ndarray, name: str) -> _Column:
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {x.shape}")
    kind = x.dtype.kind
    n = x.shape[0]
    if kind in "fc" and _is_wide(x.dtype):
        return _from_wide(x)
    if kind in "biuf":
        return _numeric(x, None)
    if kind in "US":
        return _Column("str" if kind == "U" else "bytes", n, n, 0, fixed=x)
    if kind == "O":
        return _from_objects(x)
    if kind in "mM":
        return _from_temporal(x, "M8" if kind == "M" else "m8")
    # complex, structured, void: their scalars, compared as Python does
    return _from_objects(_object_array(x))


def _object_array(values) -> np.ndarray:
    """A 1-D object array of the scalars of ``values`` (NumPy scalars stay NumPy scalars)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


def _is_wide(dtype: np.dtype) -> bool:
    """True for float / complex dtypes with more precision than float64 (long double)."""
    return dtype.kind in "fc" and np.finfo(dtype).nmant > 52


def _from_wide(x: np.ndarray) -> _Column:
    """long double (or complex long double) IDs. Where every value is a float64 (complex128),
    that fast path; else the set path on exact values (NumPy hashes a long double as its
    float64 rounding, so a plain set would miss 2**53 + 1 == int(2**53 + 1))."""
    narrow = np.float64 if x.dtype.kind == "f" else np.complex128
    with np.errstate(all="ignore"):
        cast = x.astype(narrow)
        exact = (cast.astype(x.dtype) == x) | np.isnan(x)
    if exact.all():
        return _numeric(cast, None) if x.dtype.kind == "f" else _from_objects(_object_array(cast))
    return _from_objects(_object_array(x))


def _from_temporal(x: np.ndarray, family: str,
                   lazy_objects: Callable[[], np.ndarray] | None = None) -> _Column:
    """datetime64 / timedelta64 values (NaT missing), compared as instants / durations
    whatever their unit; ``lazy_objects`` gives the scalars the set path uses."""
    n = x.shape[0]
    nat = np.isnat(x)
    n_missing = int(np.count_nonzero(nat))
    return _Column(family, n, n, n_missing, skip=nat if n_missing else None, temporal=x,
                   lazy_objects=lazy_objects)


def _numeric(values: np.ndarray, missing: np.ndarray | None) -> _Column:
    """Numeric column: int64 / uint64 / float64 / bool values; NaN counts as missing."""
    kind = values.dtype.kind
    if kind == "f":
        if _is_wide(values.dtype):
            raise TypeError(f"long double values need the exact path: {values.dtype}")
        if values.dtype != np.float64:
            values = values.astype(np.float64)
        nan = np.isnan(values)
        if nan.any():
            missing = nan if missing is None else (missing | nan)
    elif kind == "u":
        if values.dtype != np.uint64:
            values = values.astype(np.int64)
    elif kind == "i":
        if values.dtype != np.int64:
            values = values.astype(np.int64)
    elif kind != "b":
        raise TypeError(f"not a numeric dtype: {values.dtype}")
    n = values.shape[0]
    n_missing = int(np.count_nonzero(missing)) if missing is not None else 0
    return _Column("num", n, n, n_missing, skip=missing if n_missing else None, numeric=values)


_MISSING_SCALAR_TYPES = ("NoneType", "NAType", "NaTType")


def _missing_objects(values: np.ndarray) -> np.ndarray:
    """Bool mask of missing entries of an object array: None, NaN (any float type), pd.NA,
    pd.NaT, NumPy NaT."""
    pd = sys.modules.get("pandas")
    if pd is not None:
        try:
            return np.asarray(pd.isna(values), dtype=bool)
        except Exception:  # a value pandas cannot test (a signalling decimal NaN): one by one
            pass
    out = np.zeros(values.shape[0], dtype=bool)
    for i, v in enumerate(values):
        if v is None:
            out[i] = True
            continue
        try:
            out[i] = bool(v != v)
        except Exception:  # arrays, pd.NA without pandas loaded, Decimal("sNaN"), odd __ne__
            is_nan = getattr(v, "is_nan", None)  # decimal.Decimal
            out[i] = type(v).__name__ in _MISSING_SCALAR_TYPES or (
                callable(is_nan) and _true(is_nan))
    return out


def _true(method) -> bool:
    try:
        return bool(method())
    except Exception:
        return False


_INT_TYPES = (int, bool, np.integer, np.bool_)


def _is_int_type(t: type) -> bool:
    # np.timedelta64 derives from np.signedinteger: a duration, not a number
    return issubclass(t, _INT_TYPES) and not issubclass(t, np.timedelta64)


def _is_float_type(t: type) -> bool:
    # long double scalars are narrowed only where float64 holds them (see _exact_key)
    return issubclass(t, (float, np.floating)) and not _is_wide(np.dtype(t))


def _needs_key(t: type) -> bool:
    return issubclass(t, (np.floating, np.complexfloating)) and _is_wide(np.dtype(t))


@dataclass(frozen=True)
class _WideComplex:
    """Exact key of a complex long double no complex128 holds: equal only to its like."""

    real: Any
    imag: Any


def _exact_key(v):
    """An exact Python number equal to the long double ``v``, whose hash agrees with ``==``
    (NumPy hashes a long double as its float64 rounding)."""
    from fractions import Fraction

    if isinstance(v, np.complexfloating):
        if v.imag == 0:
            return _exact_key(v.real)
        c = complex(v)
        if type(v)(c) == v:
            return c
        return _WideComplex(_exact_key(v.real), _exact_key(v.imag))
    f = float(v)
    if not math.isfinite(f) or type(v)(f) == v:
        return f
    if v == np.floor(v):
        return int(v)
    return Fraction(*v.as_integer_ratio())


def _from_objects(values: np.ndarray) -> _Column:
    """Object array: narrowed to str / bytes / ints / floats when its values allow it,
    otherwise kept as Python objects (the ``set`` path)."""
    n = values.shape[0]
    if n == 0:
        return _Column("empty", 0, 0, 0)
    types = set(map(type, values))
    if _arrow_strings_ok(types):
        arrow = _arrow_strings(values)
        if arrow is not None:
            return _from_arrow(arrow, "ids")
    if all(issubclass(t, str) for t in types):  # str, np.str_
        return _Column("str", n, n, 0, var=_utf8_of_strings(values))
    if all(issubclass(t, bytes) for t in types):
        return _Column("bytes", n, n, 0, var=_buffers_of_bytes(values))
    missing = _missing_objects(values)
    n_missing = int(np.count_nonzero(missing))
    present = values[~missing] if n_missing else values
    present_types = set(map(type, present)) if n_missing else types
    skip = missing if n_missing else None
    if not present_types:
        return _Column("empty", n, n, n_missing, skip=skip)
    filled = values
    all_str = all(issubclass(t, str) for t in present_types)
    if all_str or all(issubclass(t, bytes) for t in present_types):
        fill = "" if all_str else b""
        if n_missing:
            filled = values.copy()
            filled[missing] = fill
        if fill == "":
            return _Column("str", n, n, n_missing, skip=skip, var=_utf8_of_strings(filled))
        return _Column("bytes", n, n, n_missing, skip=skip, var=_buffers_of_bytes(filled))
    if all(_is_int_type(t) for t in present_types):
        ints = _ints_of_objects(values, missing if n_missing else None)
        if ints is not None:
            return _Column("num", n, n, n_missing, skip=skip, numeric=ints)
    if all(_is_float_type(t) for t in present_types):
        floats = np.zeros(n, np.float64)
        floats[~missing] = present.astype(np.float64)
        return _Column("num", n, n, n_missing, skip=skip, numeric=floats)
    keys = None
    if any(_needs_key(t) for t in present_types):
        keys = values.copy()
        for i in np.flatnonzero(~missing):
            if _needs_key(type(values[i])):
                keys[i] = _exact_key(values[i])
    return _Column("object", n, n, n_missing, skip=skip, objects=values, keys=keys)


_ARROW_MISSING_TYPES = (type(None), float, np.floating)


def _arrow_strings_ok(types: set) -> bool:
    """Strings, possibly with None / NaN, and pyarrow importable: pyarrow packs them."""
    has_str = any(issubclass(t, str) for t in types)
    return has_str and all(issubclass(t, (str, *_ARROW_MISSING_TYPES)) for t in types) and (
        "pyarrow" in sys.modules or find_spec("pyarrow") is not None
    )


def _arrow_strings(values: np.ndarray):
    """``values`` (str, None, NaN) as an Arrow large_string array (None and NaN as nulls),
    or None when pyarrow declines (a float that is not NaN, a lone surrogate, ...)."""
    import pyarrow as pa

    try:
        return pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, UnicodeError):
        return None


def _ints_of_objects(values: np.ndarray, missing: np.ndarray | None) -> np.ndarray | None:
    present = values if missing is None else values[~missing]
    for dtype in (np.int64, np.uint64):
        try:
            converted = np.array(present.tolist(), dtype=dtype)
        except (OverflowError, ValueError, TypeError):
            continue
        if missing is None:
            return converted
        out = np.zeros(values.shape[0], dtype)
        out[~missing] = converted
        return out
    return None  # beyond 64 bits: Python ints, the set path


def _utf8_of_strings(values) -> tuple[np.ndarray, np.ndarray]:
    """Arrow-style (int64 offsets, UTF-8 bytes) of a sequence of ``str`` (lone surrogates
    encoded as "surrogatepass" does: one-to-one)."""
    n = len(values)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter(map(len, values), np.int64, n), out=offsets[1:])
    joined = "".join(values)
    if joined.isascii():
        return offsets, np.frombuffer(joined.encode("ascii"), np.uint8)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
    return kernels("leakage").utf32_to_utf8(codes, offsets)


def _buffers_of_bytes(values) -> tuple[np.ndarray, np.ndarray]:
    n = len(values)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter(map(len, values), np.int64, n), out=offsets[1:])
    return offsets, np.frombuffer(b"".join(values), np.uint8)


def _from_pandas(x, name: str) -> _Column:
    import pandas as pd

    if isinstance(x, pd.DataFrame):
        raise TypeError(f"{name} is a DataFrame: pass one ID column (df[col]) or use id_col=")
    arr = x.array if isinstance(x, (pd.Series, pd.Index)) else x
    dtype = arr.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(arr.codes, dtype=np.int64)
        categories = _as_column(arr.categories, name)
        return _dictionary(categories, codes)
    data, mask = getattr(arr, "_data", None), getattr(arr, "_mask", None)
    if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray) and data.ndim == 1:
        return _numeric(data, mask if mask.any() else None)  # nullable Int64, Float64, boolean
    if hasattr(arr, "__arrow_array__") and getattr(dtype, "storage", None) in (
        "pyarrow",
        "pyarrow_numpy",
    ) or type(arr).__name__ in ("ArrowExtensionArray", "ArrowStringArray"):
        return _from_arrow(arr.__arrow_array__(), name)
    values = np.asarray(arr)
    if values.dtype.kind in "mM" and values.ndim == 1:  # tz-naive datetimes, timedeltas
        return _from_temporal(values, "M8" if values.dtype.kind == "M" else "m8",
                              lambda: np.asarray(arr, dtype=object))
    if values.dtype.kind == "O" or values.dtype.kind in "biufcUS":
        return _from_numpy(values, name)
    return _from_numpy(np.asarray(arr, dtype=object), name)


def _dictionary(categories: _Column, codes: np.ndarray) -> _Column:
    """Dictionary-encoded column: entities are the categories actually used by ``codes``."""
    used = np.zeros(categories.n_entities + 1, dtype=bool)
    used[codes] = True  # -1 marks the extra last entry
    skip = ~used[:-1]
    if categories.skip is not None:
        skip |= categories.skip
    categories.skip = skip if skip.any() else None
    categories.codes = codes
    categories.n_rows = codes.shape[0]
    categories.n_missing = int(np.count_nonzero(codes < 0))
    return categories


def _from_arrow(x, name: str) -> _Column:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(x, pa.ChunkedArray):
        chunks = x.chunks
        if len(chunks) == 1:
            x = chunks[0]
        elif len(chunks) == 0:
            x = pa.array([], type=x.type)
        else:
            x = x.combine_chunks()
    t = x.type
    if pa.types.is_dictionary(t):
        x = x.cast(t.value_type)
        t = x.type
    if _arrow_nested(t):
        raise TypeError(f"{name}: IDs of Arrow type {t} are not supported; IDs must be "
                        "single values (numbers, text, bytes, dates, ...)")
    n = len(x)
    nulls = x.null_count
    missing = np.asarray(x.is_null().to_numpy(zero_copy_only=False), bool) if nulls else None
    time_family = _arrow_time_family(t)
    if time_family is not None:
        return _from_arrow_time(x, time_family, missing)
    if pa.types.is_null(t):
        return _Column("empty", n, n, n, skip=np.ones(n, bool) if n else None)
    is_string_view = getattr(pa.types, "is_string_view", lambda _: False)  # pyarrow >= 16
    is_binary_view = getattr(pa.types, "is_binary_view", lambda _: False)
    if is_string_view(t) or is_binary_view(t):
        x = x.cast(pa.large_string() if is_string_view(t) else pa.large_binary())
        t = x.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or \
            pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        if pa.types.is_fixed_size_binary(t):
            x = x.cast(pa.large_binary())
            t = x.type
        family = "str" if (pa.types.is_string(t) or pa.types.is_large_string(t)) else "bytes"
        large = pa.types.is_large_string(t) or pa.types.is_large_binary(t)
        _, off_buf, data_buf = x.buffers()[:3]
        off_dtype = np.int64 if large else np.int32
        offsets = np.frombuffer(off_buf, off_dtype, count=n + 1, offset=x.offset * (8 if large
                                                                                    else 4))
        offsets = offsets.astype(np.int64, copy=False)
        data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else _E_U8
        col = _Column(family, n, n, nulls, skip=missing, var=(offsets, data))
        return col
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        if nulls:
            x = pc.fill_null(x, pa.scalar(0, type=t) if not pa.types.is_boolean(t) else False)
        values = x.to_numpy(zero_copy_only=False)
        return _numeric(values, missing)
    return _from_objects(_pylist(x))


def _pylist(x) -> np.ndarray:
    """The values of an Arrow array or a polars Series as a 1-D object array."""
    values = x.to_pylist() if hasattr(x, "to_pylist") else x.to_list()
    return np.array(values + [None], dtype=object)[:-1]


def _arrow_nested(t) -> bool:
    import pyarrow as pa

    checks = ("is_list", "is_large_list", "is_fixed_size_list", "is_list_view",
              "is_large_list_view", "is_struct", "is_map")
    return any(getattr(pa.types, c, lambda _: False)(t) for c in checks)


def _arrow_time_family(t) -> str | None:
    """Time family of an Arrow type read exactly as integers: durations, timestamps without
    a time zone, times of day. (Dates and zoned timestamps take the set path on the
    ``datetime`` / pandas objects Arrow gives.)"""
    import pyarrow as pa

    if pa.types.is_duration(t):
        return "m8"
    if pa.types.is_timestamp(t) and t.tz is None:
        return "M8"
    if pa.types.is_time(t):
        return "t8"
    return None


def _from_arrow_time(x, family: str, missing: np.ndarray | None) -> _Column:
    """Arrow durations, timestamps, times: their int64 counts as datetime64 / timedelta64 of
    the same unit (times of day as timedelta64 since midnight), nulls as NaT."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = x.type
    counts = x.cast(pa.int32() if pa.types.is_time32(t) else pa.int64())
    if missing is not None:
        counts = pc.fill_null(counts, 0)
    counts = np.asarray(counts.to_numpy(zero_copy_only=False), np.int64)
    kind = "M8" if family == "M8" else "m8"
    values = counts.view(f"{kind}[{t.unit}]")
    if missing is not None:
        values = values.copy()
        values[missing] = np.datetime64("NaT") if kind == "M8" else np.timedelta64("NaT")
    n = values.shape[0]
    nat = np.isnat(values)
    n_missing = int(np.count_nonzero(nat))
    return _Column(family, n, n, n_missing, skip=nat if n_missing else None, temporal=values,
                   lazy_objects=lambda: _pylist(x))


def _from_polars(x, name: str) -> _Column:
    import polars as pl

    if isinstance(x, pl.DataFrame):
        raise TypeError(f"{name} is a DataFrame: pass one ID column (df[col]) or use id_col=")
    dtype = x.dtype
    if dtype == pl.Object:
        return _from_objects(_pylist(x))
    if dtype.is_numeric() and not (dtype.is_float() or dtype == pl.Boolean or (
            dtype.is_integer() and dtype not in _polars_wide_ints(pl))):
        # Decimal, Int128, UInt128: their Python values (Decimal, int), compared exactly
        return _from_objects(_pylist(x))
    if dtype.is_numeric() and x.null_count() == 0:
        return _numeric(x.to_numpy(), None)
    return _from_arrow(x.to_arrow(), name)


def _polars_wide_ints(pl) -> tuple:
    return tuple(getattr(pl, n) for n in ("Int128", "UInt128") if hasattr(pl, n))


# ---------------------------------------------------------------------- pair matching


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


# ------------------------------------------------------------------------- public API


def has_leakage(a, b) -> bool:
    """True when the ID columns ``a`` and ``b`` share at least one ID.

    Stops at the first shared ID found. Missing values never count as shared.

    Parameters
    ----------
    a, b : array-like
        ID columns (see the module docstring for the accepted types).

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.leakage import has_leakage
    >>> has_leakage(np.array([1, 2, 3]), np.array([7, 3]))
    True
    >>> has_leakage(["p1", "p2", None], ["p3", None])
    False
    >>> has_leakage([1, 2], [2.0])  # Python equality: 2 == 2.0
    True
    """
    if is_dask(a) or is_dask(b):
        from fastml._dask import leakage as dask_leakage

        return dask_leakage.has_leakage(a, b)
    if is_cupy(a) or is_cupy(b):
        from fastml import _gpu_leakage

        return _gpu_leakage.has_leakage(a, b, has_leakage)
    return _match(_as_column(a, "a"), _as_column(b, "b"), stop_first=True).any


def leakage(df1, df2, col) -> bool:
    """Drop-in for ``len(set(df1[col].unique()) & set(df2[col].unique())) >= 1``.

    True when the two frames share an ID in column ``col``. Missing values are never shared
    IDs (the set expression reports a leak when both frames hold ``None``).

    Parameters
    ----------
    df1, df2 : DataFrame-like
        pandas or polars DataFrames, pyarrow Tables, or mappings of columns.
    col : column label
        The ID column, present in both frames (else the frame's own ``KeyError``).

    Returns
    -------
    bool

    Examples
    --------
    >>> import pandas as pd
    >>> from fastml.leakage import leakage
    >>> train = pd.DataFrame({"patient": ["a", "b", "c"], "x": [1, 2, 3]})
    >>> test = pd.DataFrame({"patient": ["d", "c"], "x": [4, 5]})
    >>> leakage(train, test, "patient")
    True
    """
    return has_leakage(df1[col], df2[col])


def shared_ids(a, b) -> np.ndarray:
    """The IDs present in both ``a`` and ``b``, sorted, each once.

    Result type: numeric inputs give a NumPy array (float64 if a side is float, uint64 if
    both are uint64, bool if both are bool, else int64); two NumPy fixed-width string arrays
    give a ``U`` / ``S`` array; other strings an object array of ``str`` (or ``bytes``). Mixed
    object columns give an object array ordered numbers first (by value), then ``str``,
    ``bytes``, then other types by type name; where equal IDs differ in type (``1`` and
    ``1.0``), the value from ``a`` is returned. Two datetime64 (timedelta64) columns give a
    datetime64 (timedelta64) array in the finer unit; Arrow times of day come as timedelta64
    since midnight.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.leakage import shared_ids
    >>> shared_ids(np.array([5, 3, 9, 3]), np.array([3, 4, 5]))
    array([3, 5])
    >>> shared_ids(["x", 1, None], [None, 1.0, "x", "y"]).tolist()
    [1, 'x']
    """
    if is_dask(a) or is_dask(b):
        from fastml._dask import leakage as dask_leakage

        return dask_leakage.shared_ids(a, b)
    if is_cupy(a) or is_cupy(b):
        from fastml import _gpu_leakage

        return _gpu_leakage.shared_ids(a, b, shared_ids)
    return _match(_as_column(a, "a"), _as_column(b, "b"), want_ids=True).ids


def overlap_mask(a, b) -> np.ndarray:
    """For each row of ``a``, whether its ID occurs in ``b`` (bool array of ``len(a)``).

    Rows with a missing ID are False.

    Examples
    --------
    >>> from fastml.leakage import overlap_mask
    >>> overlap_mask([1, 2, None, 2], [2, None]).tolist()
    [False, True, False, True]
    """
    if is_dask(a) or is_dask(b):
        from fastml._dask import leakage as dask_leakage

        return dask_leakage.overlap_mask(a, b)
    if is_cupy(a) or is_cupy(b):
        from fastml import _gpu_leakage

        return _gpu_leakage.overlap_mask(a, b, overlap_mask)
    ca, cb = _as_column(a, "a"), _as_column(b, "b")
    m = _match(ca, cb, want_masks="a")
    return np.ascontiguousarray(ca.row_mask(m.mask_a), dtype=bool)


# ---------------------------------------------------------------------------- report


@dataclass
class PairLeakage:
    """Leakage between two named splits.

    Attributes
    ----------
    left, right : str
        Split names, in the order given to :func:`leakage_report`.
    n_shared : int
        Number of distinct shared IDs.
    shared_ids : numpy.ndarray
        The shared IDs, sorted (as :func:`shared_ids`).
    left_rows, right_rows : numpy.ndarray
        Positions (0-based, int64) of the rows of each split whose ID is shared.
    left_size, right_size : int
        Number of rows of each split.
    """

    left: str
    right: str
    n_shared: int
    shared_ids: np.ndarray
    left_rows: np.ndarray
    right_rows: np.ndarray
    left_size: int
    right_size: int

    def __bool__(self) -> bool:
        return self.n_shared > 0

    def to_dict(self, max_ids: int | None = 20) -> dict:
        ids = self.shared_ids if max_ids is None else self.shared_ids[:max_ids]
        return {
            "left": self.left,
            "right": self.right,
            "n_shared_ids": self.n_shared,
            "shared_ids": [_jsonable(v) for v in ids.tolist()],
            "shared_ids_truncated": max_ids is not None and self.n_shared > max_ids,
            "left_rows_affected": int(self.left_rows.shape[0]),
            "right_rows_affected": int(self.right_rows.shape[0]),
            "left_rows": self.left_size,
            "right_rows": self.right_size,
        }


def _jsonable(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


@dataclass
class LeakageReport:
    """Pairwise leakage between named splits (:func:`leakage_report`).

    Its truth value is True when any pair shares an ID. ``print(report)`` gives a summary;
    :meth:`to_dict` a JSON-ready summary.

    Attributes
    ----------
    splits : dict
        Split name -> ``{"rows": int, "missing": int}`` (rows whose ID is missing).
    pairs : list of PairLeakage
        One entry per pair of splits, in the order the splits were given.
    """

    splits: dict[str, dict[str, int]]
    pairs: list[PairLeakage]

    def __bool__(self) -> bool:
        return any(p.n_shared for p in self.pairs)

    @property
    def leaking_pairs(self) -> list[tuple[str, str]]:
        return [(p.left, p.right) for p in self.pairs if p.n_shared]

    def pair(self, left: str, right: str) -> PairLeakage:
        """The entry of the pair (``left``, ``right``), in either order."""
        for p in self.pairs:
            if (p.left, p.right) in ((left, right), (right, left)):
                return p
        raise KeyError((left, right))

    def to_dict(self, max_ids: int | None = 20) -> dict:
        return {
            "leakage": bool(self),
            "splits": {k: dict(v) for k, v in self.splits.items()},
            "pairs": [p.to_dict(max_ids) for p in self.pairs],
        }

    def __repr__(self) -> str:
        shared = ", ".join(f"{p.left}/{p.right}: {p.n_shared}" for p in self.pairs)
        return (f"LeakageReport(leakage={bool(self)}, splits={list(self.splits)}, "
                f"shared_ids={{{shared}}})")

    def __str__(self) -> str:
        verdict = (f"LEAKAGE: {len(self.leaking_pairs)} of {len(self.pairs)} pairs share IDs"
                   if self else f"no leakage: no pair of {len(self.splits)} splits shares an ID")
        lines = [f"Leakage report - {verdict}", ""]
        width = max([5] + [len(k) for k in self.splits])
        lines.append(f"  {'split':<{width}}  {'rows':>13}  {'missing IDs':>11}")
        for k, v in self.splits.items():
            lines.append(f"  {k:<{width}}  {v['rows']:>13,}  {v['missing']:>11,}")
        lines.append("")
        pw = max([4] + [len(p.left) + len(p.right) + 3 for p in self.pairs])
        lines.append(f"  {'pair':<{pw}}  {'shared IDs':>10}  {'rows (left)':>20}  "
                     f"{'rows (right)':>20}")
        for p in self.pairs:
            lines.append(
                f"  {p.left + ' / ' + p.right:<{pw}}  {p.n_shared:>10,}  "
                f"{_share(p.left_rows.shape[0], p.left_size):>20}  "
                f"{_share(p.right_rows.shape[0], p.right_size):>20}"
            )
        for p in self.pairs:
            if p.n_shared:
                sample = ", ".join(repr(_jsonable(v)) for v in p.shared_ids[:5].tolist())
                more = f", ... ({p.n_shared - 5:,} more)" if p.n_shared > 5 else ""
                lines.append(f"  {p.left} / {p.right} shared IDs: {sample}{more}")
        return "\n".join(lines)


def _share(count: int, total: int) -> str:
    pct = 100.0 * count / total if total else 0.0
    return f"{count:,} ({pct:.2f}%)"


def leakage_report(*, id_col=None, **splits) -> LeakageReport:
    """Pairwise shared IDs between named splits (train/val/test, or k folds).

    Parameters
    ----------
    id_col : column label, optional
        When given, each split is a frame (pandas / polars DataFrame, pyarrow Table, mapping)
        and its ID column is ``split[id_col]``; otherwise each split is an ID column.
    **splits
        At least two named splits.

    Returns
    -------
    LeakageReport
        Truthy when any pair shares an ID; per pair the number of shared IDs, the IDs and the
        affected row positions on both sides; per split the number of rows and of missing
        IDs (never counted as shared).

    Examples
    --------
    >>> import pandas as pd
    >>> from fastml.leakage import leakage_report
    >>> train = pd.DataFrame({"pid": [1, 2, 3, 4, None]})
    >>> val = pd.DataFrame({"pid": [5, 6]})
    >>> test = pd.DataFrame({"pid": [4, 7, 4]})
    >>> report = leakage_report(train=train, val=val, test=test, id_col="pid")
    >>> bool(report)
    True
    >>> report.pair("train", "test").shared_ids
    array([4.])
    >>> report.pair("train", "test").right_rows
    array([0, 2])
    >>> report.splits["train"]
    {'rows': 5, 'missing': 1}
    """
    if len(splits) < 2:
        raise ValueError(f"leakage_report needs at least two named splits, got {len(splits)}")
    ids = {name: split if id_col is None else split[id_col] for name, split in splits.items()}
    if any(is_dask(col) for col in ids.values()):
        from fastml._dask import leakage as dask_leakage

        return dask_leakage.leakage_report(ids)
    columns = {name: _as_column(col, name) for name, col in ids.items()}
    return _report_from_columns(columns)


def _report_from_columns(columns: dict[str, _Column]) -> LeakageReport:
    pairs = []
    for left, right in combinations(columns, 2):
        ca, cb = columns[left], columns[right]
        m = _match(ca, cb, want_ids=True, want_masks=True)
        pairs.append(PairLeakage(
            left=left, right=right, n_shared=int(m.ids.shape[0]), shared_ids=m.ids,
            left_rows=np.flatnonzero(ca.row_mask(m.mask_a)),
            right_rows=np.flatnonzero(cb.row_mask(m.mask_b)),
            left_size=ca.n_rows, right_size=cb.n_rows,
        ))
    info = {name: {"rows": c.n_rows, "missing": c.n_missing} for name, c in columns.items()}
    return LeakageReport(info, pairs)


# Internal-public names (not in ``__all__``), for fastml's own modules such as ``fastml.cli``:
id_column = _as_column  # an ID column in the kernels' form (raises TypeError / ValueError)
report_from_columns = _report_from_columns  # a LeakageReport from prepared ID columns
