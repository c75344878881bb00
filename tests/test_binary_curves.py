"""precision_recall_curve and roc_curve against scikit-learn."""

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm

import fastml.metrics as fm


def _same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_array_equal(g, w)


def _both(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        got = getattr(fm, fn)(*args, **kwargs)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        want = getattr(skm, fn)(*args, **kwargs)
    assert [(type(w.message), str(w.message)) for w in ours] == [
        (type(w.message), str(w.message)) for w in theirs]
    return got, want


@pytest.mark.parametrize("fn", ["precision_recall_curve", "roc_curve"])
@pytest.mark.parametrize("seed", range(8))
def test_random_problems(fn, seed, fast_only):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    y = (rng.random(n) < rng.random()).astype([np.int64, np.float64, bool][seed % 3])
    s = rng.integers(0, [3, 20, 1000][seed % 3], n) / 7.0
    if seed % 4 == 1:
        s = s.astype(np.float32)
    if seed % 4 == 2:
        s = rng.integers(-5, 5, n)
    w = rng.random(n)
    w[rng.random(n) < 0.2] = 0
    for kw in ({}, {"drop_intermediate": True}, {"drop_intermediate": False},
               {"sample_weight": w}, {"sample_weight": w, "drop_intermediate": True},
               {"pos_label": 1}):
        if "sample_weight" in kw and not (kw["sample_weight"] > 0).any():
            continue
        _same(*_both(fn, y, s, **kw))


@pytest.mark.parametrize("fn", ["precision_recall_curve", "roc_curve"])
def test_one_class_and_other_input(fn, reference_calls):
    _same(*_both(fn, np.zeros(5), np.arange(5.0)))
    _same(*_both(fn, np.ones(5), np.arange(5.0)))
    _same(*_both(fn, np.array(["a", "b", "a"]), np.array([0.1, 0.5, 0.3]), pos_label="b"))
    assert fn in reference_calls
    with pytest.raises(ValueError):
        getattr(fm, fn)(np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]))
