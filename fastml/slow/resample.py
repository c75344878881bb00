"""Slow twins of ``fastml.resample``, shared by the tests and the benchmarks.

- :func:`imbalance_numpy`: the imbalance measures as a direct NumPy computation, following the
  definitions (and the mldr R package's conventions) with (n x labels) temporaries.
- :func:`mlsmote_paper`: MLSMOTE written from the paper's pseudocode (Charte et al., 2015):
  per minority label, a scikit-learn ``NearestNeighbors`` over the label's rows (Euclidean,
  each seed excluded by ``kneighbors()`` itself), then a Python loop over the seeds building
  one synthetic row each with NumPy. It returns, with the data, what each row was made from.
- :func:`mlsmote_rowloop`: the common per-sample style seen in tutorials: one kd-tree over all
  rows that have any minority label (labels mixed, seed included in its own neighbours),
  and a Python loop per synthetic row with pandas row lookups. Its speed is the point; its
  neighbour sets are not the paper's. (The popular blog version also interpolates away
  from the neighbour, a sign error; this one moves towards it.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ------------------------------------------------------------------------------ measures


def imbalance_numpy(Y):
    """``(count, prevalence, irlbl, scumble_label, mean_ir, max_ir, cvir, scumble)``."""
    Y = np.asarray(Y).astype(np.float64)
    n, n_labels = Y.shape
    count = Y.sum(axis=0)
    top = count.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        irlbl = np.where(count > 0, top / count, 0.0)
    mean_ir = irlbl.mean()
    max_ir = irlbl.max()
    if n_labels < 2:
        cv = 0.0 if mean_ir > 0 else np.nan
    else:
        cv = irlbl.std(ddof=1) / mean_ir if mean_ir > 0 else np.nan
    # Row SCUMBLE: 1 - geometric mean / arithmetic mean of the IRLbl of the row's labels.
    ir_rows = Y * irlbl  # IRLbl where the row has the label, else 0
    k = Y.sum(axis=1)
    safe = np.where(Y > 0, ir_rows, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        geo = np.exp(np.log(safe).sum(axis=1) / k)
        ari = ir_rows.sum(axis=1) / k
        row = np.where(k >= 2, 1.0 - geo / ari, 0.0)
        label = (Y * row[:, None]).sum(axis=0) / count
    label = np.where(count > 0, label, np.nan)
    return (
        count.astype(np.int64), count / n, irlbl, label,
        float(mean_ir), float(max_ir), float(cv), float(row.mean()),
    )


# ---------------------------------------------------------------------- MLSMOTE, the paper


@dataclass
class PaperResult:
    X: np.ndarray
    Y: np.ndarray
    minority: np.ndarray  # minority labels
    source_labels: np.ndarray  # per synthetic row: the label whose bag made it
    seeds: np.ndarray  # per synthetic row: its seed (input row)
    chosen: np.ndarray  # per synthetic row: the neighbour picked
    neighbors: list  # per synthetic row: the seed's neighbours (input rows, nearest first)
    neighbor_distances: list  # per synthetic row: their Euclidean distances


def strategy_labels(Y, seed, neighbors, label_strategy):
    """The label set of a synthetic row from its seed and neighbours (the paper's rules)."""
    group = np.concatenate([[seed], np.asarray(neighbors, dtype=np.int64)])
    votes = np.asarray(Y)[group].astype(np.int64).sum(axis=0)
    if label_strategy == "ranking":
        return (votes > len(group) / 2).astype(np.uint8)
    if label_strategy == "union":
        return (votes > 0).astype(np.uint8)
    return (votes == len(group)).astype(np.uint8)


def mlsmote_paper(X, Y, k_neighbors=5, label_strategy="ranking", random_state=0):
    """MLSMOTE as in the paper: one synthetic row per (minority label, seed) pair."""
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y)
    rng = np.random.default_rng(random_state)
    count = Y.sum(axis=0)
    with np.errstate(divide="ignore"):
        irlbl = np.where(count > 0, count.max() / np.maximum(count, 1), 0.0)
    minority = np.flatnonzero(irlbl > irlbl.mean())
    new_x, new_y, src, seeds, chosen, neighbors, dists = [], [], [], [], [], [], []
    for label in minority:
        bag = np.flatnonzero(Y[:, label])
        if len(bag) < 2:
            continue
        k = min(k_neighbors, len(bag) - 1)
        nn = NearestNeighbors(n_neighbors=k).fit(X[bag])
        dist, ind = nn.kneighbors()  # no query: each row's neighbours exclude itself
        for i, seed in enumerate(bag):
            neigh = bag[ind[i]]
            ref = neigh[rng.integers(len(neigh))]
            gap = rng.random(X.shape[1])  # per feature, as the paper's pseudocode
            new_x.append(X[seed] + gap * (X[ref] - X[seed]))
            new_y.append(strategy_labels(Y, seed, neigh, label_strategy))
            src.append(label)
            seeds.append(seed)
            chosen.append(ref)
            neighbors.append(neigh)
            dists.append(dist[i])
    d, n_labels = X.shape[1], Y.shape[1]
    syn_x = np.array(new_x).reshape(-1, d)
    syn_y = np.array(new_y, dtype=Y.dtype).reshape(-1, n_labels)
    return PaperResult(
        np.vstack([X, syn_x]), np.vstack([Y, syn_y]), minority, np.array(src, np.int64),
        np.array(seeds, np.int64), np.array(chosen, np.int64), neighbors, dists,
    )


# ------------------------------------------------------------------ MLSMOTE, per-sample loop


def mlsmote_rowloop(X, Y, n_samples, k_neighbors=5, random_state=0):
    """The per-sample tutorial style: ``X``, ``Y`` DataFrames, ``n_samples`` new rows."""
    import pandas as pd
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(random_state)
    # minority labels: IRLbl above its mean, computed with pandas per label
    counts = Y.sum(axis=0)
    irpl = counts.max() / counts.replace(0, np.nan)
    tail = [c for c in Y.columns if irpl[c] > irpl.mean()]
    rows = set()
    for label in tail:
        rows.update(Y.index[Y[label] == 1].tolist())
    sub_x = X.loc[sorted(rows)].reset_index(drop=True)
    sub_y = Y.loc[sorted(rows)].reset_index(drop=True)
    tree = NearestNeighbors(n_neighbors=k_neighbors + 1, algorithm="kd_tree").fit(sub_x)
    indices = tree.kneighbors(sub_x, return_distance=False)
    new_x = np.zeros((n_samples, X.shape[1]))
    new_y = np.zeros((n_samples, Y.shape[1]), dtype=np.int64)
    for i in range(n_samples):
        ref = int(rng.integers(len(sub_x)))
        neighbour = int(rng.choice(indices[ref, 1:]))
        group = sub_y[sub_y.index.isin(indices[ref])]  # the seed and its neighbours
        votes = group.sum(axis=0, skipna=True)
        new_y[i] = np.array([1 if v > (k_neighbors + 1) / 2 else 0 for v in votes])
        gap = rng.random()
        new_x[i] = np.array(sub_x.loc[ref, :] + gap * (sub_x.loc[neighbour, :] - sub_x.loc[ref, :]))
    out_x = pd.concat([X, pd.DataFrame(new_x, columns=X.columns)], ignore_index=True)
    out_y = pd.concat([Y, pd.DataFrame(new_y, columns=Y.columns)], ignore_index=True)
    return out_x, out_y


# -------------------------------------------------------------------------------- inputs

#: Zipf-like label prevalences: 40% for the first label down to 1% for the last.
def zipf_prevalence(n_labels: int = 20, first: float = 0.40, last: float = 0.01) -> np.ndarray:
    s = np.log(first / last) / np.log(n_labels)
    return first * np.arange(1, n_labels + 1, dtype=np.float64) ** -s


def make_data(n: int, n_features: int = 50, n_labels: int = 20, seed: int = 0):
    """``(X, Y)``: float64 features (Gaussian noise plus a shift per label a row has) and an
    int64 0/1 label matrix with Zipf-like prevalences; every label has two positives or more."""
    rng = np.random.default_rng([n, n_features, n_labels, seed])
    Y = (rng.random((n, n_labels)) < zipf_prevalence(n_labels)).astype(np.int64)
    for j in np.flatnonzero(Y.sum(axis=0) < 2):
        Y[rng.choice(n, 2, replace=False), j] = 1
    shift = rng.normal(scale=1.0, size=(n_labels, n_features))
    X = rng.normal(size=(n, n_features)) + Y @ shift
    return X, Y


# ------------------------------------------------------------------------- ML-ROS / ML-RUS

_MASK = (1 << 64) - 1


def uniform_stream(key: int, i: int) -> float:
    """The kernels' counter-based SplitMix64 uniform, in plain Python integers."""
    z = (key + i * 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return (z >> 11) * 2.0**-53


def _irlbl(counts):
    counts = np.asarray(counts, dtype=np.float64)
    return np.where(counts > 0, counts.max() / np.maximum(counts, 1), 0.0)


def mlros_reference(Y, quota: int, key: int) -> list[int]:
    """ML-ROS as a plain loop (Charte et al., 2015) with the kernels' random stream:
    the rows cloned, in order."""
    Y = np.asarray(Y)
    counts = Y.sum(axis=0).astype(np.int64)
    ir = _irlbl(counts)
    mean_ir = ir.mean()
    bags = {j: np.flatnonzero(Y[:, j]) for j in np.flatnonzero(ir > mean_ir)}
    active = list(bags)
    clones: list[int] = []
    while len(clones) < quota and active:
        for label in list(active):
            if len(clones) == quota:
                break
            bag = bags[label]
            u = uniform_stream(key, len(clones))
            row = int(bag[min(len(bag) - 1, int(u * len(bag)))])
            clones.append(row)
            counts += Y[row].astype(np.int64)
            if counts.max() / counts[label] <= mean_ir:
                active.remove(label)
    return clones


def mlrus_reference(Y, quota: int, key: int) -> np.ndarray:
    """ML-RUS as a plain loop with the kernels' random stream: the mask of rows kept."""
    Y = np.asarray(Y)
    n = Y.shape[0]
    counts = Y.sum(axis=0).astype(np.int64)
    ir = _irlbl(counts)
    mean_ir = ir.mean()
    labels = np.flatnonzero((ir < mean_ir) & (counts > 0))
    bags = {j: list(np.flatnonzero(Y[:, j])) for j in labels}
    alive = np.ones(n, bool)
    active = list(labels)
    deleted = draws = 0
    while deleted < quota and active:
        for label in list(active):
            if deleted == quota:
                break
            bag = bags[label]
            row = -1
            while bag:  # draw among the bag's slots; a dead row's slot is dropped
                pos = min(len(bag) - 1, int(uniform_stream(key, draws) * len(bag)))
                draws += 1
                if alive[bag[pos]]:
                    row = bag[pos]
                    break
                bag[pos] = bag[-1]
                bag.pop()
            if row < 0:
                active.remove(label)
                continue
            alive[row] = False
            deleted += 1
            counts -= Y[row].astype(np.int64)
            if counts[label] == 0 or counts.max() / counts[label] >= mean_ir:
                active.remove(label)
    return alive
