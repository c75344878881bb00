"""fastml: fast, exact drop-ins for the hot paths of imbalanced multi-label learning.

Importing ``fastml`` is cheap: submodules (and Numba) load on first use, and kernels compile
on their first call (then come from the on-disk cache).

Thread count follows Numba: set ``NUMBA_NUM_THREADS`` before start-up, or call
``numba.set_num_threads(k)`` at run time.
"""

from importlib import import_module

__version__ = "0.1.0"

_SUBMODULES = ("metrics",)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        module = import_module(f"fastml.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'fastml' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
