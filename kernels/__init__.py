"""Hot-path kernels of fastml, installed as ``fastml.kernels``.

Kernels trust their inputs (the public API in ``fastml`` has validated and converted them)
and hold plain loops over typed arrays. ``*_cpu.py`` are Numba, ``*_cpu.pyx`` Cython and
``*_gpu.py`` CuPy; each file names in its first lines why it uses that tool.
"""
