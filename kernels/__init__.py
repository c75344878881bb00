"""Hot-path kernels of fastml, installed as ``fastml.kernels``.

Kernels trust their inputs (the public API in ``fastml`` has validated and converted them)
and hold plain loops over typed arrays. ``cpu/*.pyx`` are Cython (compiled at install),
``*_cpu.py`` Numba, ``gpu/*.py`` numba-cuda kernels on CuPy arrays; each file names in its
first lines why it uses that tool.
"""
