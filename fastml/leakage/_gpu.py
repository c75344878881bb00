"""Leakage checks on device ID columns (CuPy; NumPy under numba-cuda's simulator).

Numeric IDs stay on the device: both sides integers of one signedness (compared as int64 or
uint64) or both floating point (compared as float64, NaN never shared) run the sort-and-probe
kernel of ``fastml.kernels.gpu.leakage``. Anything else (bool IDs, integers against floats,
signed against unsigned, a host column of strings or objects next to a device column) is
computed on the host: the device column is copied there and the CPU path decides, with its
exact rules for mixed types.
"""

from __future__ import annotations

import numpy as np

from fastml._backend import is_cupy
from fastml._gpu import gpu_kernels, namespace, to_device, to_host


def _category(dtype) -> str | None:
    """How a numeric column compares: as int64 ("i"), uint64 ("u": only uint64 columns, as
    on the CPU; narrower unsigned integers fit int64) or float64 ("f")."""
    kind = dtype.kind
    if kind == "u":
        return "u" if dtype.itemsize == 8 else "i"
    return kind if kind in "if" else None


def _plan(a, b):
    """(xp, dtype) when both columns can be compared on the device, else None."""
    cats = []
    for x in (a, b):
        if is_cupy(x) or isinstance(x, np.ndarray):
            cats.append(_category(x.dtype) if getattr(x, "ndim", 0) == 1 else None)
        else:
            cats.append(None)
    if cats[0] is None or cats[0] != cats[1]:
        return None
    return namespace(a, b), {"i": np.int64, "u": np.uint64, "f": np.float64}[cats[0]]


def _columns(xp, dtype, a, b):
    return (xp.ascontiguousarray(to_device(xp, a), dtype=dtype),
            xp.ascontiguousarray(to_device(xp, b), dtype=dtype))


def _host_call(fn, a, b):
    return fn(to_host(a) if is_cupy(a) else a, to_host(b) if is_cupy(b) else b)


def has_leakage(a, b, cpu) -> bool:
    plan = _plan(a, b)
    if plan is None:
        return _host_call(cpu, a, b)
    xp, dtype = plan
    ca, cb = _columns(xp, dtype, a, b)
    k = gpu_kernels("leakage")
    small, big = (ca, cb) if ca.shape[0] <= cb.shape[0] else (cb, ca)
    return bool(k.member_mask(big, k.sorted_table(small)).any())


def overlap_mask(a, b, cpu):
    plan = _plan(a, b)
    if plan is None:
        out = _host_call(cpu, a, b)
        return to_device(namespace(a, b), out)
    xp, dtype = plan
    ca, cb = _columns(xp, dtype, a, b)
    k = gpu_kernels("leakage")
    return k.member_mask(ca, k.sorted_table(cb))


def shared_ids(a, b, cpu):
    plan = _plan(a, b)
    if plan is None:
        out = _host_call(cpu, a, b)
        return to_device(namespace(a, b), out) if out.dtype.kind in "biuf" else out
    xp, dtype = plan
    ca, cb = _columns(xp, dtype, a, b)
    k = gpu_kernels("leakage")
    hits = ca[k.member_mask(ca, k.sorted_table(cb))]
    if hits.shape[0] == 0:
        return hits
    hits = xp.sort(hits)
    keep = xp.concatenate([xp.ones(1, bool), hits[1:] != hits[:-1]])
    return hits[keep]
