"""MLSMOTE on Dask collections.

The labels are gathered (n x labels bytes) and the minority labels found from their global
counts; only the rows holding a minority label (the bags the algorithm draws from: small by
definition) are gathered with their features. The in-memory algorithm runs on those rows
with the global counts, so it makes exactly the synthetic rows it makes on the whole data;
the result is the Dask input's rows (never gathered) followed by the synthetic rows, as
Dask collections.
"""

from __future__ import annotations

import numpy as np

from fastml._dask import _is_dask, gather, like, log, n_rows, take_rows


def _rows_of(x, rows: np.ndarray):
    if hasattr(x, "iloc"):
        return x.iloc[rows]
    return np.asarray(x)[rows]


def _map(rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Subset positions -> rows of the whole data (-1 stays -1)."""
    idx = np.asarray(idx)
    return np.where(idx >= 0, rows[np.maximum(idx, 0)], -1) if idx.size else idx


def mlsmote(run, X, Y, k_neighbors, label_strategy, gap, sampling_factor, max_samples,
            categorical_features, random_state):
    """``run`` (the in-memory ``_mlsmote``) on the gathered minority rows of Dask input."""
    from fastml import resample as R

    y_mem = gather(Y)
    lab = R.label_matrix(y_mem)
    n = lab.y.shape[0]
    if X is None:
        raise ValueError("X is required: the (n_samples, n_features) feature matrix.")
    if n_rows(X) != n:
        raise ValueError(f"X has {n_rows(X)} rows but Y has {n}: they must match.")
    counts = R._k().label_counts(lab.y)
    ir = R._irlbl_from_counts(counts)
    minority = np.flatnonzero(ir > float(ir.mean()))
    rows = (np.flatnonzero(lab.y[:, minority].any(axis=1)) if minority.size
            else np.zeros(0, np.int64))
    log.debug("MLSMOTE: %d of %d rows hold a minority label; gathered with their features",
              rows.shape[0], n)
    x_sub = take_rows(X, rows).compute() if _is_dask(X) else _rows_of(X, rows)
    if hasattr(x_sub, "reset_index"):
        x_sub = x_sub.reset_index(drop=True)
    y_sub = _rows_of(y_mem, rows)
    s = run(x_sub, y_sub, k_neighbors, label_strategy, gap, sampling_factor, max_samples,
            categorical_features, random_state, counts=counts)
    m = rows.shape[0]
    syn_x = s.x.iloc[m:] if hasattr(s.x, "iloc") else np.asarray(s.x)[m:]
    syn_y = np.asarray(s.y)[m:].astype(np.uint8)
    y_full = R._restore_labels(lab, np.concatenate([lab.y, syn_y]))
    return R._Synthesis(
        _append_rows(X, syn_x, n), like(y_full, Y) if _is_dask(Y) else y_full,
        s.irlbl, s.mean_ir, s.minority, _map(rows, s.seeds), _map(rows, s.chosen),
        _map(rows, s.neighbors), s.labels,
    )


def _append_rows(X, syn, n: int):
    """``X``'s rows (lazily, in the synthetic rows' dtype) followed by ``syn``."""
    if not _is_dask(X):
        import pandas as pd

        if hasattr(X, "iloc"):
            out = pd.concat([X.astype(syn.dtypes), syn], ignore_index=True)
            return out
        return np.concatenate([np.asarray(X, dtype=syn.dtype), syn])
    if hasattr(X, "chunks"):
        import dask.array as da

        return da.concatenate([X.astype(syn.dtype), da.from_array(syn, chunks=(-1, -1))])
    import dask.dataframe as dd

    syn = syn.copy()
    syn.index = np.arange(n, n + len(syn))
    return dd.concat([X.astype(syn.dtypes.to_dict()), dd.from_pandas(syn, npartitions=1)])
