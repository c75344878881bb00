"""Splits of Dask collections: the in-memory split, applied lazily."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
import dask  # noqa: E402

from fastml.split import (  # noqa: E402
    MultilabelStratifiedGroupKFold,
    MultilabelStratifiedKFold,
    multilabel_train_test_split,
)


@pytest.fixture(autouse=True)
def _threads():
    with dask.config.set(scheduler="threads"):
        yield


def _data(seed=0, n=600):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 4)) < [0.3, 0.1, 0.05, 0.02]).astype(np.int64)
    X = rng.standard_normal((n, 3))
    groups = rng.integers(0, 150, n)
    return X, Y, groups


def test_train_test_split_matches_in_memory():
    X, Y, g = _data()
    dX = da.from_array(X, chunks=(170, 3))
    dY = da.from_array(Y, chunks=(200, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    dframe = dd.from_pandas(frame, npartitions=4)
    kw = dict(test_size=0.2, min_test_positives=1, random_state=3)
    want = multilabel_train_test_split(X, frame, Y, y=Y, groups=g, **kw)
    got = multilabel_train_test_split(dX, dframe, dY, y=dY, groups=da.from_array(g, 100), **kw)
    assert isinstance(got[0], da.Array) and isinstance(got[2], dd.DataFrame)
    for w, gpart in zip(want, got, strict=True):
        computed = gpart.compute()
        if isinstance(w, pd.DataFrame):
            pd.testing.assert_frame_equal(computed, w)
        else:
            np.testing.assert_array_equal(computed, w)


def test_splitters_take_dask_labels():
    X, Y, g = _data(1)
    dX, dY, dg = da.from_array(X, 100), da.from_array(Y, (100, 4)), da.from_array(g, 100)
    for cv, groups, dgroups in [
        (MultilabelStratifiedKFold(4, shuffle=True, random_state=0), None, None),
        (MultilabelStratifiedGroupKFold(3, shuffle=True, random_state=0), g, dg),
    ]:
        want = list(cv.split(X, Y, groups))
        got = list(cv.split(dX, dY, dgroups))
        for (a, b), (c, d) in zip(want, got, strict=True):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_inconsistent_lengths():
    X, Y, _ = _data(2)
    with pytest.raises(ValueError, match="inconsistent"):
        multilabel_train_test_split(da.from_array(X[:-1], 100), Y, y=Y, random_state=0)
