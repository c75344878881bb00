"""Compiled (Cython) CPU kernels, built when the package is installed.

One module per hot path; each names in its first lines what it computes, its input contract
and why it is written this way. Work that splits by rows is exposed as a per-block function
(``*_block``: the *partial* of the backend contract) next to the one-shot call, which runs the
blocks through :mod:`fastml.kernels._parallel` and adds their results in block order.
"""
