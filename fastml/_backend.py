"""Backends: the input's array family picks the kernels that run a hot path.

Every hot path has one kernel module per backend, with the same function names and
signatures, so switching backend is one lookup and one test can hold every backend to the
same reference:

- ``numpy``: ``fastml.kernels.cpu.<hot path>`` (compiled at install), for NumPy arrays and
  everything converted to them (lists, pandas, SciPy sparse where accepted, ...);
- ``cupy``: GPU kernels for CuPy arrays and anything exposing ``__cuda_array_interface__``;
- ``dask``: task graphs over the CPU kernels' per-block functions, for Dask collections.

A backend other than ``numpy`` is registered lazily (as Dask's ``register_lazy``): the
family of an input is read from its type, without importing CuPy or Dask, and the backend's
module is imported only when such an input arrives. Where a hot path has no backend for the
input's family, :func:`kernels` raises ``Unsupported`` (a drop-in then hands the call to its
reference; a fastml-only function raises ``ValueError`` with the reason).
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from types import ModuleType

NUMPY, CUPY, DASK = "numpy", "cupy", "dask"

# family -> module prefix whose ``<prefix>.<hot path>`` is that family's kernel module
_PREFIXES: dict[str, str] = {NUMPY: "fastml.kernels.cpu"}
_MODULES: dict[tuple[str, str], ModuleType | None] = {}


def register_lazy(family: str, prefix: str) -> None:
    """Serve ``family`` from ``<prefix>.<hot path>`` modules, imported on first use."""
    _PREFIXES[family] = prefix
    for key in [k for k in _MODULES if k[1] == family]:
        del _MODULES[key]


def family(x) -> str:
    """The array family of ``x``: ``"dask"``, ``"cupy"`` or ``"numpy"`` (everything else).

    Decided from the type (and, for a class that may hold device data, whether this object
    does) before any conversion: converting a Dask collection would
    compute it, converting a CuPy array would copy it to the host.
    """
    cls = type(x)
    if callable(getattr(cls, "__dask_graph__", None)):
        return DASK
    if cls.__module__.split(".", 1)[0] == "cupy" or getattr(cls, "__fastml_device__", False):
        return CUPY
    try:  # a torch CPU tensor's class has the attribute; only device data answer it
        if hasattr(cls, "__cuda_array_interface__") and hasattr(x, "__cuda_array_interface__"):
            return CUPY
    except Exception:
        pass
    return NUMPY


def family_of(*arrays) -> str:
    """The family of the arguments that are not None: Dask if any is, else CuPy if any is."""
    found = {family(a) for a in arrays if a is not None}
    for fam in (DASK, CUPY):
        if fam in found:
            return fam
    return NUMPY


def is_cupy(x) -> bool:
    """True for a CuPy array (or another object on a CUDA device), without importing CuPy."""
    return x is not None and family(x) == CUPY


def is_dask(x) -> bool:
    """True for a Dask collection, without importing Dask."""
    return x is not None and family(x) == DASK


def has_backend(hot_path: str, fam: str = NUMPY) -> bool:
    """Whether ``hot_path`` has kernels for the array family ``fam``."""
    return _lookup(hot_path, fam) is not None


def _lookup(hot_path: str, fam: str) -> ModuleType | None:
    key = (hot_path, fam)
    if key not in _MODULES:
        prefix = _PREFIXES.get(fam)
        name = f"{prefix}.{hot_path}" if prefix else None
        try:
            found = name is not None and find_spec(name) is not None
        except ModuleNotFoundError:  # the prefix's package itself is absent
            found = False
        _MODULES[key] = import_module(name) if found else None
    return _MODULES[key]


def kernels(hot_path: str, fam: str = NUMPY) -> ModuleType:
    """The kernel module of ``hot_path`` for the array family ``fam``."""
    module = _lookup(hot_path, fam)
    if module is None:
        from fastml._validation import Unsupported

        raise Unsupported(f"{hot_path} has no {fam} backend")
    return module


register_lazy(CUPY, "fastml.kernels.gpu")
