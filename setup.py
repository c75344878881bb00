"""Build script: maps the top-level ``kernels/`` folder to the subpackage ``fastml.kernels``
and compiles every ``kernels/**/*.pyx`` into an extension of that subpackage
(``kernels/cpu/metrics_counts.pyx`` -> ``fastml.kernels.cpu.metrics_counts``).

A source build needs a C compiler. Set ``FASTML_BUILD_ARCH`` (e.g. ``native``) to build for a
given ``-march``; the default builds for the baseline of the target platform.
"""

import os
import sys
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def _compile_args():
    if sys.platform == "win32":
        return ["/O2"]
    args = ["-O3", "-g0"]  # no debug symbols: a smaller wheel, a faster build
    arch = os.environ.get("FASTML_BUILD_ARCH", "").strip()
    if arch:
        args.append(f"-march={arch}")
    return args


def cython_extensions():
    sources = sorted((HERE / "kernels").rglob("*.pyx"))
    if not sources:
        return []
    import numpy as np
    from Cython.Build import cythonize
    from setuptools import Extension

    extensions = []
    for src in sources:
        rel = src.relative_to(HERE / "kernels").with_suffix("")
        extensions.append(
            Extension(
                "fastml.kernels." + ".".join(rel.parts),
                [str(src.relative_to(HERE))],
                include_dirs=[np.get_include(), str(HERE / "kernels")],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=_compile_args(),
            )
        )
    return cythonize(
        extensions,
        language_level=3,
        nthreads=int(os.environ.get("FASTML_BUILD_JOBS", "0")) or os.cpu_count() or 1,
    )


setup(
    # fastml and its subpackages, and kernels/ (with its subpackages) as fastml.kernels
    packages=find_packages(include=["fastml", "fastml.*"]) + ["fastml.kernels"]
    + ["fastml.kernels." + name for name in find_packages("kernels")],
    package_dir={"fastml": "fastml", "fastml.kernels": "kernels"},
    package_data={"fastml": ["py.typed"],
                  "fastml.kernels": ["*.pxd", "**/*.pxd", "**/*.pyx", "**/*.h"]},
    ext_modules=cython_extensions(),
)
