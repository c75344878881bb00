"""Counting metrics on Dask collections equal the in-memory results."""

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
import dask  # noqa: E402

import fastml.metrics as fm  # noqa: E402


@pytest.fixture(autouse=True)
def _threads():
    with dask.config.set(scheduler="threads"):
        yield


def _data(seed=0, n=1500, k=7):
    rng = np.random.default_rng(seed)
    yt = (rng.random((n, k)) < 0.2).astype(np.int64)
    yp = (rng.random((n, k)) < 0.25).astype(np.int64)
    yt[:, 6] = 0
    w = rng.random(n)
    return yt, yp, w


def _d(x, rows=400):
    return da.from_array(x, chunks=(rows,) + x.shape[1:])


def _eq(got, want, exact):
    got = got.compute() if hasattr(got, "compute") else got
    if exact:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    else:
        np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_counting_metrics(weighted):
    yt, yp, w = _data()
    sw, dsw = (w, _d(w, 300)) if weighted else (None, None)
    dyt, dyp = _d(yt), _d(yp, 250)
    _eq(fm.hamming_loss(dyt, dyp, sample_weight=dsw), fm.hamming_loss(yt, yp, sample_weight=sw),
        not weighted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in (None, "micro", "macro", "weighted", "samples"):
            # from integer counts: bit-identical; "samples" adds per-row ratios: rounding
            exact = not weighted and average != "samples"
            for fn in (fm.precision_score, fm.recall_score, fm.f1_score):
                _eq(fn(dyt, dyp, average=average, sample_weight=dsw),
                    fn(yt, yp, average=average, sample_weight=sw), exact)
            got = fm.precision_recall_fscore_support(dyt, dyp, average=average,
                                                     sample_weight=dsw, labels=[3, 0, 6])
            want = fm.precision_recall_fscore_support(yt, yp, average=average,
                                                      sample_weight=sw, labels=[3, 0, 6])
            for g, w_ in zip(got, want, strict=True):
                if w_ is None:
                    assert g is None
                else:
                    _eq(g, w_, exact)
    for samplewise in (False, True):
        _eq(fm.multilabel_confusion_matrix(dyt, dyp, sample_weight=dsw, samplewise=samplewise),
            fm.multilabel_confusion_matrix(yt, yp, sample_weight=sw, samplewise=samplewise),
            not weighted)


def test_warnings_and_dataframes():
    yt, yp, _ = _data(1)
    yp[:, 6] = 0  # label 6 has no true and no predicted positive: F is ill-defined
    with pytest.warns(Warning, match="ill-defined"):
        want = fm.f1_score(yt, yp, average="macro")
    with pytest.warns(Warning, match="ill-defined"):
        got = fm.f1_score(_d(yt), _d(yp), average="macro")
    assert got == want
    frame_t = dd.from_pandas(pd.DataFrame(yt), npartitions=3)
    frame_p = dd.from_pandas(pd.DataFrame(yp), npartitions=3)
    _eq(fm.hamming_loss(frame_t, frame_p), fm.hamming_loss(yt, yp), True)


def test_bad_dask_input_is_a_clear_error():
    yt, yp, _ = _data(2)
    bad = yt.astype(float)
    bad[1000, 2] = 0.5
    with pytest.raises(ValueError, match="0 and 1"):
        fm.hamming_loss(_d(bad), _d(yp))
    with pytest.raises(ValueError, match="shapes"):
        fm.f1_score(_d(yt[:-1]), _d(yp), average="macro")


# ---------------------------------------------------------------- average precision, ROC AUC


def _scored(seed=3, n=2000, k=6, ties=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, k)) < [0.2, 0.05, 0.01, 0.3, 0.1, 0.0]).astype(np.int64)
    s = y + rng.standard_normal((n, k))
    if ties:
        s = np.round(s, 1)
    return y, s.astype(dtype), rng.random(n)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted", "samples"])
def test_ap_and_roc_auc_match_in_memory(average, weighted, ties):
    y, s, w = _scored(ties=ties)
    sw, dsw = (w, _d(w, 333)) if weighted else (None, None)
    dy, ds = _d(y, 500), _d(s, 700)
    exact = not weighted and average != "samples"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _eq(fm.average_precision_score(dy, ds, average=average, sample_weight=dsw),
            fm.average_precision_score(y, s, average=average, sample_weight=sw), exact)
        for max_fpr in (None, 0.3):
            got = fm.roc_auc_score(dy, ds, average=average, sample_weight=dsw, max_fpr=max_fpr)
            want = fm.roc_auc_score(y, s, average=average, sample_weight=sw, max_fpr=max_fpr)
            got, want = np.asarray(got, float), np.asarray(want, float)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            ok = ~np.isnan(want)
            _eq(got[ok], want[ok], exact)


def test_binary_float32_and_warnings():
    y, s, w = _scored(4, k=1, dtype=np.float32)
    y1, s1 = y[:, 0], s[:, 0]
    _eq(fm.average_precision_score(_d(y1), _d(s1)), fm.average_precision_score(y1, s1), True)
    _eq(fm.roc_auc_score(_d(y1), _d(s1), sample_weight=_d(w)),
        fm.roc_auc_score(y1, s1, sample_weight=w), False)
    y, s, _ = _scored(5)
    with pytest.warns(UserWarning, match="No positive class"):
        fm.average_precision_score(_d(y), _d(s))
    bad = s.copy()
    bad[1500, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fm.average_precision_score(_d(y), _d(bad))


def test_report_and_thresholds_on_dask():
    y, s, _ = _scored(6, ties=True)
    dy, ds = _d(y, 450), _d(s, 450)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = fm.multilabel_report(y, s, 0.5)
        got = fm.multilabel_report(dy, ds, 0.5)
    pd.testing.assert_frame_equal(got, want)
    thr = np.linspace(0.2, 0.9, y.shape[1])
    pd.testing.assert_frame_equal(fm.multilabel_report(dy, ds, thr),
                                  fm.multilabel_report(y, s, thr))
    for metric, kw in [("f1", {}), ("fbeta", {"beta": 2.0}), ("recall", {"target": 0.7}),
                       ("precision", {"target": 0.5})]:
        g = fm.best_thresholds(dy, ds, metric, **kw)
        w = fm.best_thresholds(y, s, metric, **kw)
        np.testing.assert_array_equal(g.thresholds, w.thresholds)
        np.testing.assert_array_equal(g.scores, w.scores)
