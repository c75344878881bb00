"""MLSMOTE (Charte, Rivera, del Jesus & Herrera, 2015): synthetic rows for the minority
labels, interpolated between a seed and one of its nearest neighbours among the rows having
the same minority label (compiled kernels: neighbour search, synthesis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from fastml._backend import is_cupy, is_dask
from fastml._validation import _all_finite, label_matrix, plain_array, random_generator
from fastml.kernels._parallel import get_num_threads
from fastml.resample._base import (
    _extended_index,
    _is_sparse,
    _k,
    _key,
    _positive_int,
    _ratio,
    _restore_labels,
    _Sampler,
    _stacked_labels,
)
from fastml.resample._measures import _irlbl_from_counts

_STRATEGIES = ("ranking", "union", "intersection")
_GAPS = ("feature", "sample")


@dataclass
class _Features:
    x: np.ndarray  # float32/float64 (n, d), C-contiguous: numbers, categories as codes
    categorical: np.ndarray  # bool (d,)
    columns: list  # per column: None (numeric) or the values of the codes (categorical)
    frame: bool  # X is a DataFrame
    dtypes: list  # per column: the input column's dtype


def _codes(values: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` of a categorical column, ``uniques[codes] == values``.

    The codes follow the values' order where the values compare (so that the kernel's
    tie rule, the smallest code, is the smallest value), else the order of first
    appearance down the column."""
    try:
        uniques, codes = np.unique(values, return_inverse=True)
        return codes.reshape(-1), uniques
    except TypeError:  # values that do not compare (mixed types): first seen
        pass
    seen: dict = {}
    try:
        codes = np.fromiter(
            (seen.setdefault(v, len(seen)) for v in values.tolist()), np.int64, len(values)
        )
    except TypeError as exc:
        raise TypeError(f"categorical feature {name} holds unhashable values: {exc}") from None
    uniques = np.empty(len(seen), dtype=object)
    uniques[:] = list(seen)
    return codes, uniques


def _feature_matrix(X, n: int, categorical_features) -> _Features:
    """Validate MLSMOTE's features: numeric columns (interpolated) and the categorical
    columns listed in ``categorical_features`` (voted; any type), as one float matrix for
    the kernels with each category replaced by its code."""
    if X is None:
        raise ValueError("X is required: the (n_samples, n_features) feature matrix.")
    if _is_sparse(X):
        raise TypeError(
            "MLSMOTE needs dense numeric features; got a sparse matrix (use X.toarray())."
        )
    frame = hasattr(X, "columns") and hasattr(X, "iloc") and getattr(X, "ndim", 0) == 2
    if frame:
        cols = [plain_array(X.iloc[:, j], "X") for j in range(X.shape[1])]
        shape = (X.shape[0], X.shape[1])
        dtypes = list(X.dtypes)
    else:
        a = plain_array(X, "X")
        if a.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {a.shape}")
        cols = [a[:, j] for j in range(a.shape[1])]
        shape = a.shape
        dtypes = [a.dtype] * a.shape[1]
    if shape[0] != n:
        raise ValueError(f"X has {shape[0]} rows but Y has {n}: they must match.")
    d = shape[1]
    if d == 0:
        raise ValueError("X has no features.")
    cat = _categorical_mask(categorical_features, X, d)
    all_float32 = True
    for j in np.flatnonzero(~cat):
        c = cols[j]
        if c.dtype.kind not in "biuf":
            if c.dtype.kind == "O":
                try:
                    c = c.astype(np.float64)
                except (TypeError, ValueError):
                    c = None
            if c is None or c.dtype.kind not in "biuf":
                label = f"column {X.columns[j]!r}" if frame else f"column {j}"
                raise TypeError(
                    f"MLSMOTE interpolates numeric features; {label} has dtype "
                    f"{cols[j].dtype}: list it in categorical_features (its values are "
                    "then voted among the neighbours) or encode it as numbers"
                )
            cols[j] = c
        if cols[j].dtype.kind == "f" and not _all_finite(cols[j]):
            raise ValueError("X contains NaN or infinity.")
        all_float32 &= cols[j].dtype == np.float32
    uniques: list = [None] * d
    for j in np.flatnonzero(cat):
        label = repr(X.columns[j]) if frame else str(j)
        codes, uniques[j] = _codes(cols[j], label)
        cols[j] = codes
        all_float32 &= len(uniques[j]) <= 2**24  # codes exact in float32
    dtype = np.float32 if all_float32 and (~cat).any() else np.float64
    x = np.empty((n, d), dtype)
    for j in range(d):
        x[:, j] = cols[j]
    return _Features(x, cat, uniques, frame, dtypes)


def _synthetic_features(X, feats: _Features, out_x: np.ndarray, n: int):
    """MLSMOTE's X output: the input rows then the synthetic ones, in the input's form.

    Categorical columns take their values back from the codes, in the column's dtype;
    numeric columns are floats (float32 where every numeric column is float32). A
    DataFrame keeps its columns and its rows' index (synthetic rows get fresh labels after
    it, see :func:`_extended_index`); an array stays an array (float, or object when a
    categorical column is not numeric)."""
    d = out_x.shape[1]
    n_new = out_x.shape[0] - n

    def values(j):
        if feats.columns[j] is None:
            return out_x[:, j]
        return feats.columns[j][out_x[:, j].astype(np.int64)]

    if feats.frame:
        import pandas as pd

        data = {}
        for j in range(d):
            v = values(j)
            if feats.columns[j] is not None:
                new = pd.array(v[n:], dtype=feats.dtypes[j]) if n_new else None
                v = X.iloc[:, j].array
                if new is not None:
                    v = type(v)._concat_same_type([v, new])
            data[j] = v
        out = pd.DataFrame(data, index=_extended_index(X.index, None, n_new))
        out.columns = X.columns
        return out
    if all(feats.columns[j] is None or feats.columns[j].dtype.kind in "biuf" for j in range(d)):
        out = out_x.copy() if any(c is not None for c in feats.columns) else out_x
        for j in np.flatnonzero(feats.categorical):
            out[:, j] = values(j)
        return out
    out = np.empty(out_x.shape, dtype=object)
    for j in range(d):
        out[:, j] = values(j)
    return out


def _categorical_mask(categorical_features, X, d: int) -> np.ndarray:
    mask = np.zeros(d, bool)
    if categorical_features is None:
        return mask
    cats = np.asarray(categorical_features)
    if cats.ndim != 1:
        raise ValueError("categorical_features must be a 1-D list of columns or a mask")
    if cats.dtype == np.bool_:
        if cats.shape[0] != d:
            raise ValueError(
                f"categorical_features mask has {cats.shape[0]} entries for {d} features"
            )
        return cats.copy()
    if cats.dtype.kind in "iu":
        if cats.size and (cats.min() < -d or cats.max() >= d):
            raise ValueError(f"categorical_features has a column index outside [0, {d})")
        mask[cats] = True
        return mask
    columns = getattr(X, "columns", None)
    if columns is None:
        raise ValueError(
            "categorical_features given by name needs X to be a DataFrame; use column indices"
        )
    position = {c: i for i, c in enumerate(columns)}
    for c in cats.tolist():
        if c not in position:
            raise ValueError(f"categorical feature {c!r} is not a column of X")
        mask[position[c]] = True
    return mask


def _plain_features(X, n: int, categorical_features) -> np.ndarray | None:
    """``X`` itself when MLSMOTE can use it as it is: a C-contiguous float32 / float64
    ndarray in native byte order with ``n`` rows, some columns and no categorical one.
    Its values are not checked here (the caller checks them while copying them into the
    output). None otherwise (then :func:`_feature_matrix` validates and converts)."""
    if (
        type(X) is np.ndarray
        and categorical_features is None
        and X.ndim == 2
        and X.shape[0] == n
        and X.shape[1] > 0
        and X.dtype in (np.float32, np.float64)
        and X.dtype.isnative
        and X.flags.c_contiguous
    ):
        return X
    return None


@dataclass
class _Synthesis:
    x: object
    y: object
    irlbl: np.ndarray
    mean_ir: float
    minority: np.ndarray
    seeds: np.ndarray
    chosen: np.ndarray
    neighbors: np.ndarray
    labels: np.ndarray


def _plan(bag_ptr, bag_rows, minority, factor, max_samples):
    """The bags that make rows, and how many (host arrays; the GPU path calls it too):
    ``(bag_ptr, bag_rows, bag_labels, n_syn)``. A bag with one row has no neighbour to
    interpolate with: its seed makes nothing, so it is dropped."""
    sizes = np.diff(bag_ptr)
    kept = sizes >= 2
    bag_labels = minority
    if not kept.all():
        bag_rows = bag_rows[np.repeat(kept, sizes)]
        bag_labels = minority[kept]
        bag_ptr = np.concatenate([[0], np.cumsum(sizes[kept])]).astype(np.int64)
    n_syn = int(round(factor * bag_rows.shape[0]))
    if max_samples is not None:
        n_syn = min(n_syn, max_samples)
    return bag_ptr, bag_rows, bag_labels, n_syn


def _draw_pairs(rng, n_syn, bag_rows, bag_ptr, bag_labels, nbr_col, n_nbrs):
    """The random part of MLSMOTE's bookkeeping (host arrays, drawn from ``rng`` in this
    order; the GPU path calls it too, so that both make the same rows): which (label, seed)
    pair each synthetic row comes from, and which neighbour it interpolates with.

    Pair p (bag member p) makes ``base`` or ``base + 1`` rows; the extra ones go to a random
    subset of pairs. Rows are ordered by label, seed row, repetition. Returns ``(seeds,
    nbrs, m, chosen, labels)``: the seed rows, their neighbour rows (-1 unused), their
    numbers of neighbours, the chosen neighbour rows and the rows' minority labels.
    """
    n_pairs = bag_rows.shape[0]
    base, extra = divmod(n_syn, n_pairs)
    reps = np.full(n_pairs, base, np.int64)
    if extra:
        reps[np.sort(rng.choice(n_pairs, size=extra, replace=False))] += 1
    pair = np.repeat(np.arange(n_pairs), reps)
    seeds = bag_rows[pair]
    nbrs = np.where(nbr_col[pair] >= 0, bag_rows[np.maximum(nbr_col[pair], 0)], -1)
    m = n_nbrs[pair]
    pick = np.minimum((rng.random(n_syn) * m).astype(np.int64), m - 1)
    chosen = nbrs[np.arange(n_syn), pick]
    labels = np.repeat(np.repeat(bag_labels, np.diff(bag_ptr)), reps)
    return seeds, nbrs, m, chosen, labels


def _mlsmote(
    X, Y, k_neighbors, label_strategy, gap, sampling_factor, max_samples,
    categorical_features, random_state, counts=None,
) -> _Synthesis:
    """MLSMOTE on ``(X, Y)``. ``counts``: the label counts of a larger data set whose rows
    with a minority label are exactly these (the Dask back end runs on those rows only)."""
    if is_dask(X) or is_dask(Y):
        from fastml._dask.resample import mlsmote as dask_mlsmote

        return dask_mlsmote(
            _mlsmote, X, Y, k_neighbors, label_strategy, gap, sampling_factor, max_samples,
            categorical_features, random_state,
        )
    k = _positive_int(k_neighbors, "k_neighbors")
    if not (isinstance(label_strategy, str) and label_strategy in _STRATEGIES):
        raise ValueError(f"label_strategy must be one of {_STRATEGIES}; got {label_strategy!r}")
    if not (isinstance(gap, str) and gap in _GAPS):
        raise ValueError(f"gap must be one of {_GAPS}; got {gap!r}")
    factor = _ratio(sampling_factor, "sampling_factor")
    if max_samples is not None:
        max_samples = _positive_int(max_samples, "max_samples", minimum=0)
    if is_cupy(X):  # device features: the GPU twin (fastml/resample/_gpu.py)
        from fastml.resample._gpu import mlsmote_device

        return _Synthesis(*mlsmote_device(X, Y, k, label_strategy, gap, factor, max_samples,
                                          categorical_features, random_state, counts))
    lab = label_matrix(Y)
    n = lab.y.shape[0]
    plain = _plain_features(X, n, categorical_features)
    if plain is None:
        feats = _feature_matrix(X, n, categorical_features)
        x = feats.x
        cat = feats.categorical
        numeric = np.flatnonzero(~cat)
        categorical = np.flatnonzero(cat)
        if numeric.size == 0:
            raise ValueError("MLSMOTE needs at least one numeric (non-categorical) feature.")
        rng = random_generator(random_state)
    else:  # checked for NaN / infinity while copied into the output, below
        feats = None
        x = plain
        numeric = np.arange(x.shape[1], dtype=np.int64)
        categorical = np.empty(0, np.int64)
    d = x.shape[1]
    kern = _k()

    if counts is None:
        counts = kern.label_counts(lab.y)
    ir = _irlbl_from_counts(counts)
    mir = float(ir.mean())
    minority = np.flatnonzero(ir > mir)
    bag_ptr, bag_rows, bag_labels, n_syn = _plan(
        *kern.bags(lab.y, minority), minority, factor, max_samples
    )

    out_dtype = np.float32 if x.dtype == np.float32 else np.float64
    out_x = np.empty((n + n_syn, d), out_dtype)
    finite = []

    def copy_input() -> None:
        # One pass: the input rows are copied into the output and checked, always on this
        # thread. Page faults on the fresh output bound it; taken on another thread than
        # the one that frees such arrays, they sometimes cost several times more (measured
        # on a 2-core VM), so the pool threads search meanwhile instead.
        finite.append(kern.copy_finite_block(x, out_x, 0, n))

    overlap = False
    if feats is not None:
        out_x[:n] = x
    elif n_syn and get_num_threads() > 1 and kern.knn_in_parallel(bag_ptr, d):
        overlap = True  # copied by this thread while the pool threads start the search
    else:
        copy_input()
        if not finite[0]:
            raise ValueError("X contains NaN or infinity.")
        rng = random_generator(random_state)
    syn_y = np.empty((n_syn, lab.y.shape[1]), np.uint8)
    width = max(k, 1)
    if n_syn == 0:
        seeds = chosen = labels = np.empty(0, np.int64)
        nbrs = np.empty((0, width), np.int64)
    else:
        if categorical.size == 0:
            pts = kern.gather(x, bag_rows)
        else:
            pts = np.ascontiguousarray(x[np.ix_(bag_rows, numeric)], dtype=np.float64)
        nbr_col, _, n_nbrs = kern.bag_knn(pts, bag_ptr, k, get_num_threads(),
                                          first=copy_input if overlap else None)
        del pts
        if overlap:
            if not finite[0]:
                raise ValueError("X contains NaN or infinity.")
            rng = random_generator(random_state)
        seeds, nbrs, m, chosen, labels = _draw_pairs(
            rng, n_syn, bag_rows, bag_ptr, bag_labels, nbr_col, n_nbrs
        )
        kern.synthesize(
            x, lab.y, seeds, nbrs, m, chosen, numeric, categorical,
            _STRATEGIES.index(label_strategy), gap == "feature", _key(rng),
            out_x[n:], syn_y,
        )
    return _Synthesis(
        out_x if feats is None else _synthetic_features(X, feats, out_x, n),
        _restore_labels(lab, _stacked_labels(lab, syn_y), None, n_syn),
        ir, mir, minority, seeds, chosen, nbrs, labels,
    )


_MLSMOTE_PARAMS = """
    k_neighbors : int, default=5
        Neighbours of each seed, searched among the rows having the same minority label
        (exact Euclidean distance over the numeric features; the seed itself excluded;
        ties go to the lower row index). A label with ``m <= k_neighbors`` rows uses its
        ``m - 1`` other rows; a label with one row makes no synthetic row.
    label_strategy : {"ranking", "union", "intersection"}, default="ranking"
        Label set of a synthetic row, over the seed and its neighbours: "ranking" keeps a
        label present in more than half of them (the paper's rule); "union" any label
        present in one of them; "intersection" labels present in all of them.
    gap : {"feature", "sample"}, default="feature"
        "feature": an independent uniform gap in [0, 1) for every feature, as in the paper's
        pseudocode (the new row lies in the box spanned by seed and neighbour);
        "sample": one gap per row, as SMOTE (the new row lies on the segment between them).
    sampling_factor : float, default=1.0
        Synthetic rows per (minority label, seed) pair: 1 is the paper (one each);
        2 makes two each; 0.5 makes one for a random half of the pairs. In general
        ``round(sampling_factor * n_pairs)`` rows, spread as evenly as possible over the
        pairs (the remainder to a random subset).
    max_samples : int, optional
        Cap on the number of synthetic rows (applied after ``sampling_factor``).
    categorical_features : array-like, optional
        Columns holding categories (indices, a boolean mask, or DataFrame column names), of
        any type: numbers, strings, booleans, pandas categoricals. They are left out of the
        distance and take, in a synthetic row, the most frequent value among the seed's
        neighbours (ties: the smallest value where the column's values compare, else the
        one seen first down the column), and keep their dtype in a DataFrame. The other
        (numeric) columns are interpolated, so they come back as floats.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the random choices (neighbour, gaps, remainder pairs).
"""


def mlsmote(
    X,
    Y,
    *,
    k_neighbors: int = 5,
    label_strategy: Literal["ranking", "union", "intersection"] = "ranking",
    gap: Literal["feature", "sample"] = "feature",
    sampling_factor: float = 1.0,
    max_samples: int | None = None,
    categorical_features=None,
    random_state=None,
) -> tuple:
    """MLSMOTE (Charte, Rivera, del Jesus & Herrera, 2015): synthetic rows for minority labels.

    The minority labels are those whose IRLbl exceeds MeanIR, computed once on the input.
    For each of them (in label order), every row having the label is a seed (in row order);
    its nearest neighbours are searched among the rows having that label; one of them is
    picked at random, and a synthetic row interpolates the numeric features between the seed
    and that neighbour, with labels voted by the seed and all its neighbours.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Numeric features (float32 stays float32; other types become float64), no NaN;
        columns listed in ``categorical_features`` may hold any values.
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 label indicator matrix.
    {params}
    Returns
    -------
    X_resampled : ndarray or DataFrame of shape (n_samples + n_new, n_features)
        The original rows, then the synthetic ones. An array comes back as floats (as
        objects when a categorical column is not numeric).
    Y_resampled : ndarray, DataFrame or sparse matrix of shape (n_samples + n_new, n_labels)
        Same type and dtype as ``Y`` (in native byte order).

    A DataFrame (``X`` or ``Y``) keeps the index of its original rows; the synthetic rows
    get fresh labels after it: ``max + 1, max + 2, ...`` for an integer index, the
    positions ``n_samples, n_samples + 1, ...`` for any other.

    See Also
    --------
    MLSMOTE : the same as an imbalanced-learn style sampler, with fitted attributes telling
        each synthetic row's seed, neighbours and label.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.resample import mlsmote
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))
    >>> Y = (rng.random((200, 3)) < [0.5, 0.2, 0.05]).astype(int)
    >>> X_res, Y_res = mlsmote(X, Y, k_neighbors=3, random_state=0)
    >>> bool(X_res.shape[0] - 200 == Y[:, 2].sum())  # label 2 alone is a minority label
    True
    >>> bool((X_res[:200] == X).all())
    True
    """
    s = _mlsmote(
        X, Y, k_neighbors, label_strategy, gap, sampling_factor, max_samples,
        categorical_features, random_state,
    )
    return s.x, s.y


mlsmote.__doc__ = mlsmote.__doc__.replace("    {params}\n", _MLSMOTE_PARAMS.lstrip("\n"))


class MLSMOTE(_Sampler):
    """MLSMOTE (Charte, Rivera, del Jesus & Herrera, 2015) with ``fit_resample(X, Y)``.

    See :func:`mlsmote` for the algorithm. The sampler follows imbalanced-learn's contract:
    ``fit_resample`` returns the original rows followed by the synthetic ones.

    Parameters
    ----------
    {params}
    Attributes
    ----------
    irlbl_ : ndarray of shape (n_labels,)
        IRLbl of the input's labels.
    mean_ir_ : float
        MeanIR of the input.
    minority_labels_ : ndarray
        Labels with IRLbl > MeanIR.
    seed_indices_ : ndarray of shape (n_new,)
        Input row each synthetic row was made from.
    neighbor_indices_ : ndarray of shape (n_new,)
        The neighbour it was interpolated towards.
    neighbors_ : ndarray of shape (n_new, k_neighbors)
        All neighbours of its seed (nearest first; -1 pads bags smaller than k + 1).
    source_labels_ : ndarray of shape (n_new,)
        The minority label whose rows it was made from.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.resample import MLSMOTE, imbalance_report
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 5))
    >>> Y = (rng.random((500, 4)) < [0.5, 0.3, 0.05, 0.02]).astype(int)
    >>> sampler = MLSMOTE(k_neighbors=5, random_state=0)
    >>> X_res, Y_res = sampler.fit_resample(X, Y)
    >>> sampler.minority_labels_.tolist()
    [2, 3]
    >>> imbalance_report(Y_res).mean_ir < imbalance_report(Y).mean_ir
    True
    """

    _parameters = (
        "k_neighbors", "label_strategy", "gap", "sampling_factor", "max_samples",
        "categorical_features", "random_state",
    )

    def __init__(
        self,
        k_neighbors: int = 5,
        label_strategy: Literal["ranking", "union", "intersection"] = "ranking",
        random_state=None,
        *,
        gap: Literal["feature", "sample"] = "feature",
        sampling_factor: float = 1.0,
        max_samples: int | None = None,
        categorical_features=None,
    ):
        self.k_neighbors = k_neighbors
        self.label_strategy = label_strategy
        self.random_state = random_state
        self.gap = gap
        self.sampling_factor = sampling_factor
        self.max_samples = max_samples
        self.categorical_features = categorical_features

    def fit_resample(self, X, Y):
        """Return ``(X_resampled, Y_resampled)``: the input rows, then the synthetic rows."""
        s = _mlsmote(
            X, Y, self.k_neighbors, self.label_strategy, self.gap, self.sampling_factor,
            self.max_samples, self.categorical_features, self.random_state,
        )
        self._fitted_input(X)
        self.irlbl_ = s.irlbl
        self.mean_ir_ = s.mean_ir
        self.minority_labels_ = s.minority
        self.seed_indices_ = s.seeds
        self.neighbor_indices_ = s.chosen
        self.neighbors_ = s.neighbors
        self.source_labels_ = s.labels
        return s.x, s.y


MLSMOTE.__doc__ = MLSMOTE.__doc__.replace("    {params}\n", _MLSMOTE_PARAMS.lstrip("\n"))
