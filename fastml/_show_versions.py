"""``fastml.show_versions()``: what a bug report needs to know about this installation."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, version

_LIBRARIES = (
    ("numpy", "numpy"), ("scipy", "scipy"), ("scikit-learn", "scikit-learn"),
    ("pandas", "pandas"), ("pyarrow", "pyarrow"), ("polars", "polars"),
    ("xgboost", ("xgboost", "xgboost-cpu")), ("lightgbm", "lightgbm"), ("torch", "torch"),
    ("dask", "dask"), ("distributed", "distributed"), ("cupy", ("cupy-cuda13x", "cupy-cuda12x")),
    ("numba-cuda", "numba-cuda"), ("Cython", "Cython"),
)


def _dist_version(dists: str | tuple[str, ...]) -> str | None:
    for dist in (dists,) if isinstance(dists, str) else dists:
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return None


def versions() -> dict[str, dict[str, str | None]]:
    """The facts :func:`show_versions` prints, as nested dicts (no library is imported)."""
    import fastml
    from fastml.kernels import _parallel

    kernels_dir = os.path.dirname(_parallel.__file__)
    compiled = sorted(
        f.split(".", 1)[0]
        for f in os.listdir(os.path.join(kernels_dir, "cpu"))
        if f.endswith((".so", ".pyd"))
    )
    system = {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
        "processor": platform.machine(),
        "compiler": sysconfig.get_config_var("CC") or platform.python_compiler(),
    }
    fast = {
        "fastml": fastml.__version__,
        "threads": str(_parallel.get_num_threads()),
        "compiled kernels": ", ".join(compiled) or "none (not built)",
    }
    deps = {name: _dist_version(dist) for name, dist in _LIBRARIES}
    return {"fastml": fast, "system": system, "dependencies": deps}


def show_versions() -> None:
    for section, facts in versions().items():
        print(f"\n{section}:")
        width = max(len(k) for k in facts)
        for key, value in facts.items():
            print(f"{key:>{width}}: {value if value is not None else 'not installed'}")
