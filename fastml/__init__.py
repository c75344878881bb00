"""fastml: fast, exact drop-ins for the hot paths of imbalanced multi-label learning.

Importing ``fastml`` is cheap: submodules load on first use.

Threads: the kernels use ``FASTML_NUM_THREADS`` threads (read at start-up; default: the CPUs
this process may run on); :func:`set_num_threads` changes it at run time. Results do not
depend on the thread count.
"""

import sys
from importlib import import_module
from importlib.util import find_spec, module_from_spec, spec_from_file_location
from pathlib import Path

_DISTRIBUTION = "fastml-multilabel"


def _serve_source_kernels() -> None:
    """Make ``fastml.kernels`` importable from a source checkout.

    Installed builds (wheel or editable) map the top-level ``kernels/`` folder to
    ``fastml.kernels``. When ``fastml`` is imported straight from a checkout (e.g. tests run
    from the repository root put it first on ``sys.path``), no such mapping exists, so the
    checkout's ``kernels/`` is registered under that name. Nothing becomes importable as a
    top-level ``kernels`` module.
    """
    if "fastml.kernels" in sys.modules or find_spec("fastml.kernels") is not None:
        return
    folder = Path(__file__).resolve().parent.parent / "kernels"
    init = folder / "__init__.py"
    if not init.is_file():
        return
    spec = spec_from_file_location(
        "fastml.kernels", init, submodule_search_locations=[str(folder)]
    )
    module = module_from_spec(spec)
    sys.modules["fastml.kernels"] = module
    spec.loader.exec_module(module)


_serve_source_kernels()

_SUBMODULES = ("metrics", "losses", "split", "resample", "plot", "leakage")

__all__ = [
    "__version__", "get_num_threads", "set_num_threads", "show_versions", *_SUBMODULES
]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (``n >= 1``) in every fastml kernel from now on.

    Examples
    --------
    >>> import fastml
    >>> before = fastml.get_num_threads()
    >>> fastml.set_num_threads(1)
    >>> fastml.get_num_threads()
    1
    >>> fastml.set_num_threads(before)
    """
    from fastml.kernels._parallel import set_num_threads as _set

    _set(n)


def get_num_threads() -> int:
    """The number of threads fastml's kernels use."""
    from fastml.kernels._parallel import get_num_threads as _get

    return _get()


def _version() -> str:
    """The installed distribution's version (defined once, in pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(_DISTRIBUTION)
    except PackageNotFoundError:  # a source checkout that was never installed
        return "0+unknown"


def show_versions() -> None:
    """Print fastml's version and those of Python, the platform and the libraries it uses.

    Paste its output into a bug report.
    """
    from fastml._show_versions import show_versions as _show

    _show()


def __getattr__(name):
    if name == "__version__":
        value = _version()
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = import_module(f"fastml.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'fastml' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
