"""ID columns in the forms the leakage kernels read.

:func:`_as_column` recognises a column's type (NumPy, lists, pandas, pyarrow, polars) and
puts it, without a copy where the input allows it, in one of a few families: numbers
(int64 / uint64 / float64 / bool), fixed-width or variable-length strings and bytes, times
(datetime64 / timedelta64 counts), or Python objects for the ``set`` path. Missing values are
marked, never matched. What counts as the same ID is described in :mod:`fastml.leakage`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import Any

import numpy as np

from fastml._backend import kernels

_E_U8 = np.empty(0, np.uint8)


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
