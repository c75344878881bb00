"""Slow twins: one plain, obviously correct reference per hot path.

Tests hold every backend (compiled CPU kernels, Dask, GPU) to these, and the benchmarks time
them as references where no installed library is the reference. Nothing here is fast, and
nothing in the rest of the package imports it.

- metrics: scikit-learn itself (``sklearn.metrics``) is the reference;
- :mod:`fastml.slow.losses`: the loss formulas, one NumPy operation at a time;
- :mod:`fastml.slow.resample`: the imbalance measures, the paper's MLSMOTE with
  scikit-learn's ``NearestNeighbors``, ML-ROS / ML-RUS one row at a time;
- :mod:`fastml.slow.leakage`: Python ``set`` semantics;
- :mod:`fastml.slow.split`: the greedy pass of iterative stratification in plain Python.
"""
