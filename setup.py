"""Build script: maps the top-level ``kernels/`` folder to the subpackage ``fastml.kernels``
and compiles every ``kernels/*.pyx`` into an extension of that subpackage.

Pure Numba kernels need no build step; they compile on first call and are cached on disk.
"""

from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent


def cython_extensions():
    sources = sorted((HERE / "kernels").glob("*.pyx"))
    if not sources:
        return []
    import numpy as np
    from Cython.Build import cythonize
    from setuptools import Extension

    extensions = [
        Extension(
            f"fastml.kernels.{src.stem}",
            [str(src.relative_to(HERE))],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            language="c++",
            extra_compile_args=["-O3"],
        )
        for src in sources
    ]
    return cythonize(extensions, language_level=3)


setup(
    packages=["fastml", "fastml.metrics", "fastml.losses", "fastml.kernels"],
    package_dir={"fastml": "fastml", "fastml.kernels": "kernels"},
    ext_modules=cython_extensions(),
)
