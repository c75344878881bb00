"""GPU kernels: numba-cuda kernels launched on CuPy arrays (or anything exposing
``__cuda_array_interface__``), one module per hot path with the names and signatures of its
``fastml.kernels.cpu`` twin where the work allows.

Why numba-cuda: the kernels are short loops over typed arrays; written in Python they run in
numba-cuda's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) on NumPy arrays, which is how every
kernel is tested on machines without a GPU. CuPy provides memory, sorts, scans and
scatter-adds around them. Importing this package imports neither CuPy nor Numba; a hot-path
module does, on first use.
"""
