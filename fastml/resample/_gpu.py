"""MLSMOTE on device features (a CuPy ``X``; NumPy arrays marked as device data under
numba-cuda's simulator): the same synthetic rows as the CPU path for the same
``random_state``, with the feature matrix kept on the device.

What runs where:

- on the device: the checks of ``X`` (numeric, finite), the label counts and the minority
  bags (from device labels; host labels are copied over once, as uint8), the gather of the
  bag members' features, the exact neighbour search (blocked float64 distance products,
  then an exact re-check of the pairs near each seed's ``k``-th distance, so the neighbour
  lists are the CPU kernel's, ties included), the synthesis of every new row in one kernel
  (the CPU kernel's counter-based random stream and arithmetic, bit for bit), and the
  output feature matrix;
- on the host: small arrays only. The per-label counts and the bags' row indices, each
  member's neighbour numbers (pairs x k), and the random choices drawn from
  ``random_state``'s NumPy generator (which pairs make an extra row, which neighbour each
  row interpolates towards): they must be drawn from the same generator, in the same order,
  as on the CPU to give the same rows, and NumPy's generators run on the host. The index
  arrays built from them (seed, neighbours, chosen neighbour per new row) are copied back to
  the device for the synthesis; they are also the sampler's fitted attributes (host NumPy
  arrays, as on the CPU).

Results: ``X_resampled`` is a device array of the input's namespace (float32 for float32
``X``, else float64, as on the CPU); ``Y_resampled`` is a device array when ``Y`` is one
(same dtype), else the CPU path's output form (array, DataFrame, sparse matrix).
"""

from __future__ import annotations

import numpy as np

from fastml._backend import is_cupy
from fastml._gpu import gpu_kernels, namespace, to_host
from fastml._validation import label_matrix, random_generator

_MAX_FLOAT32_CODES = 2**24  # category codes exact in float32


def _labels(xp, Y):
    """(device uint8 labels, host label info or None): device labels are checked on the
    device; anything else goes through the CPU path's label checks and is copied over."""
    from fastml.metrics import _gpu
    from fastml.resample import _measures

    if is_cupy(Y):
        dtype = getattr(Y, "dtype", None)
        checked = Y.astype(np.float32) if dtype == np.float16 else Y
        y8, _ = _measures._measure_labels(checked)
        return y8, None
    lab = label_matrix(Y)
    return _gpu.mark(xp, xp.asarray(lab.y)), lab


def _features(xp, X, n: int, categorical_features):
    """(working features, numeric columns, categorical columns, uniques of each categorical
    column): the device twin of ``fastml.resample._mlsmote._feature_matrix`` for an array."""
    from fastml.resample import _mlsmote

    shape = tuple(X.shape)
    if len(shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {shape}")
    if shape[0] != n:
        raise ValueError(f"X has {shape[0]} rows but Y has {n}: they must match.")
    d = shape[1]
    if d == 0:
        raise ValueError("X has no features.")
    cat = _mlsmote._categorical_mask(categorical_features, X, d)
    numeric = np.flatnonzero(~cat).astype(np.int64)
    categorical = np.flatnonzero(cat).astype(np.int64)
    if X.dtype.kind not in "biuf" and numeric.size:
        raise TypeError(
            f"MLSMOTE interpolates numeric features; column {int(numeric[0])} has dtype "
            f"{X.dtype}: list it in categorical_features (its values are then voted among "
            "the neighbours) or encode it as numbers"
        )
    if X.dtype.kind == "f" and numeric.size:
        values = X if categorical.size == 0 else X[:, xp.asarray(numeric)]
        if not bool(xp.isfinite(values).all()):
            raise ValueError("X contains NaN or infinity.")
    uniques = {}
    for j in categorical.tolist():
        uniques[j] = xp.unique(X[:, j])
    float32 = X.dtype == np.float32 and all(
        u.shape[0] <= _MAX_FLOAT32_CODES for u in uniques.values()
    )
    dtype = np.float32 if float32 and numeric.size else np.float64
    if numeric.size == 0:
        raise ValueError("MLSMOTE needs at least one numeric (non-categorical) feature.")
    if categorical.size:  # categories as the codes of their sorted values, in a copy
        x = xp.array(X, dtype=dtype, order="C", copy=True)
        for j, u in uniques.items():
            x[:, j] = xp.searchsorted(u, X[:, j])
    else:
        x = xp.ascontiguousarray(X, dtype=dtype)
    return x, numeric, categorical, uniques


def mlsmote_device(X, Y, k, label_strategy, gap, factor, max_samples, categorical_features,
                   random_state, counts=None) -> tuple:
    """MLSMOTE of device features ``X`` (parameters already checked by the caller): the
    fields of ``fastml.resample._mlsmote._Synthesis`` in order (X and Y resampled, IRLbl, MeanIR,
    minority labels, seeds, chosen neighbours, neighbour lists, source labels)."""
    from fastml.metrics import _gpu
    from fastml.resample import _base, _measures, _mlsmote

    kg = gpu_kernels("resample")
    xp = namespace(X)
    y8, lab = _labels(xp, Y)
    n, n_labels = y8.shape
    x, numeric, categorical, uniques = _features(xp, X, n, categorical_features)
    d = x.shape[1]
    rng = random_generator(random_state)

    if counts is None:
        counts = kg.label_counts(y8)
    ir = _measures._irlbl_from_counts(counts)
    mir = float(ir.mean())
    minority = np.flatnonzero(ir > mir)
    bag_ptr, bag_rows, bag_labels, n_syn = _mlsmote._plan(
        *kg.bags(y8, minority), minority, factor, max_samples
    )

    out_x = xp.empty((n + n_syn, d), x.dtype)
    out_x[:n] = x
    syn_y = xp.zeros((n_syn, n_labels), np.uint8)
    width = max(k, 1)
    if n_syn == 0:
        seeds = chosen = labels = np.empty(0, np.int64)
        nbrs = np.empty((0, width), np.int64)
    else:
        if categorical.size == 0:
            pts = kg.gather(x, bag_rows)
        else:
            pts = xp.ascontiguousarray(
                x[xp.asarray(bag_rows)][:, xp.asarray(numeric)], dtype=np.float64
            )
        nbr_dev, _, n_nbrs = kg.bag_knn(pts, bag_ptr, k)
        del pts
        nbr_col = np.asarray(to_host(nbr_dev))
        # The host bookkeeping of the CPU path, drawing from the generator in its order.
        seeds, nbrs, m, chosen, labels = _mlsmote._draw_pairs(
            rng, n_syn, bag_rows, bag_ptr, bag_labels, nbr_col, n_nbrs
        )
        kg.synthesize(
            x, y8, seeds, nbrs, m, chosen, numeric, categorical,
            _mlsmote._STRATEGIES.index(label_strategy), gap == "feature", _base._key(rng),
            out_x[n:], syn_y,
        )
    for j, u in uniques.items():  # codes back to the column's values
        out_x[:, j] = u[out_x[:, j].astype(np.int64)]
    if lab is not None:
        y_out = _base._restore_labels(
            lab, _base._stacked_labels(lab, np.asarray(to_host(syn_y))), None, n_syn
        )
    else:
        y_out = xp.empty((n + n_syn, n_labels), Y.dtype)
        y_out[:n] = y8
        y_out[n:] = syn_y
        y_out = _gpu.mark(xp, y_out)
    return (_gpu.mark(xp, out_x), y_out, ir, mir, minority, seeds, chosen, nbrs, labels)
