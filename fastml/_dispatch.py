"""Backend choice: the array type picks the kernel module.

NumPy (and anything converted to NumPy) runs on ``fastml.kernels.<hot path>_cpu``; CuPy arrays
will run on ``fastml.kernels.<hot path>_gpu`` where such a twin exists.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType


def is_cupy(x) -> bool:
    """True for a CuPy array, decided without importing CuPy."""
    return type(x).__module__.split(".", 1)[0] == "cupy"


def backend_of(*arrays) -> str:
    """``"cupy"`` if any argument is a CuPy array, else ``"numpy"``."""
    return "cupy" if any(is_cupy(a) for a in arrays if a is not None) else "numpy"


def kernels(module: str, backend: str = "numpy") -> ModuleType:
    """Import the kernel module ``fastml.kernels.<module>_<cpu|gpu>`` (lazily, on first use)."""
    suffix = "gpu" if backend == "cupy" else "cpu"
    return import_module(f"fastml.kernels.{module}_{suffix}")
