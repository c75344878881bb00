"""Kernel lookup: the compiled CPU kernels of a hot path.

``kernels("metrics_counts")`` is ``fastml.kernels.cpu.metrics_counts`` (Cython, compiled at
install) where that module exists, else the older ``fastml.kernels.metrics_counts_cpu``.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from types import ModuleType


def kernels(module: str) -> ModuleType:
    """The CPU kernel module of hot path ``module`` (imported on first use)."""
    name = f"fastml.kernels.cpu.{module}"
    if find_spec(name) is not None:
        return import_module(name)
    return import_module(f"fastml.kernels.{module}_cpu")


def is_cupy(x) -> bool:
    """True for a CuPy array, decided without importing CuPy."""
    return type(x).__module__.split(".", 1)[0] == "cupy"
