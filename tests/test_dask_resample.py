"""Resampling measures and ML-ROS / ML-RUS on Dask collections."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
import dask  # noqa: E402

from fastml.resample import MLROS, MLRUS, MLSMOTE, imbalance_report  # noqa: E402


@pytest.fixture(autouse=True)
def _threads():
    with dask.config.set(scheduler="threads"):
        yield


def _data(seed=0, n=800):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 5)) < [0.4, 0.2, 0.05, 0.02, 0.01]).astype(np.int64)
    X = rng.standard_normal((n, 3))
    return X, Y


def test_imbalance_report_on_dask_labels():
    _, Y = _data()
    got = imbalance_report(da.from_array(Y, chunks=(150, 5)))
    want = imbalance_report(Y)
    np.testing.assert_array_equal(got.count, want.count)
    np.testing.assert_array_equal(got.irlbl, want.irlbl)
    assert got.mean_ir == want.mean_ir and got.scumble == want.scumble


@pytest.mark.parametrize("sampler", [MLROS(random_state=0), MLRUS(random_state=1)])
def test_random_resamplers_apply_lazily(sampler):
    X, Y = _data(1)
    frame = pd.DataFrame(X, columns=list("abc"))
    want_x, want_y = sampler.fit_resample(X, Y)
    got_x, got_y = sampler.fit_resample(da.from_array(X, chunks=(170, 3)),
                                        da.from_array(Y, chunks=(200, 5)))
    assert isinstance(got_x, da.Array) and isinstance(got_y, da.Array)
    np.testing.assert_array_equal(got_x.compute(), want_x)
    np.testing.assert_array_equal(got_y.compute(), want_y)
    for index in (None, np.arange(10, 10 + len(X)) * 3, [f"r{i}" for i in range(len(X))]):
        if index is not None:
            frame.index = index
        want_f, _ = sampler.fit_resample(frame, Y)
        got_f, _ = sampler.fit_resample(dd.from_pandas(frame, npartitions=3, sort=False), Y)
        assert isinstance(got_f, dd.DataFrame)
        got_c = got_f.compute()
        # index labels too (Dask may store string labels in its own string dtype)
        pd.testing.assert_frame_equal(got_c, want_f, check_index_type=False)
        assert list(got_c.index) == list(want_f.index)


@pytest.mark.parametrize("strategy", ["ranking", "union"])
def test_mlsmote_on_dask_equals_in_memory(strategy):
    X, Y = _data(3, n=1200)
    sampler = MLSMOTE(k_neighbors=3, label_strategy=strategy, random_state=4)
    want_x, want_y = sampler.fit_resample(X, Y)
    want_seeds = sampler.seed_indices_.copy()
    got_x, got_y = sampler.fit_resample(da.from_array(X, chunks=(250, 3)),
                                        da.from_array(Y, chunks=(300, 5)))
    assert isinstance(got_x, da.Array) and isinstance(got_y, da.Array)
    np.testing.assert_array_equal(got_x.compute(), want_x)
    np.testing.assert_array_equal(got_y.compute(), want_y)
    np.testing.assert_array_equal(sampler.seed_indices_, want_seeds)
    got_f, _ = sampler.fit_resample(dd.from_pandas(pd.DataFrame(X, columns=list("abc")),
                                                   npartitions=3), Y)
    np.testing.assert_array_equal(got_f.compute().to_numpy(), want_x)
