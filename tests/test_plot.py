"""fastml.plot under matplotlib's Agg backend: the figures render and the bars carry the
numbers they stand for."""

import io
import sys
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fastml import plot as P  # noqa: E402
from fastml import resample as R  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def heights(container):
    return np.array([bar.get_height() for bar in container])


def renders(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def labels_data(n=400, n_labels=6, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, n_labels)) < np.linspace(0.5, 0.03, n_labels)).astype(int)
    X = rng.normal(size=(n, 4)) + Y @ rng.normal(size=(n_labels, 4))
    return X, Y


def tick_texts(ax):
    return [t.get_text() for t in ax.get_xticklabels()]


def test_label_frequency():
    _, Y = labels_data()
    ax = P.plot_label_frequency(Y, label_names=list("abcdef"))
    np.testing.assert_array_equal(heights(ax.containers[0]), Y.sum(axis=0))
    assert tick_texts(ax) == list("abcdef")
    renders(ax.figure)
    ax = P.plot_label_frequency(Y, normalize=True, sort=True, log=True)
    want = np.sort(Y.mean(axis=0))[::-1]
    np.testing.assert_allclose(heights(ax.containers[0]), want)
    assert ax.get_yscale() == "log"
    assert tick_texts(ax) == [str(i) for i in np.argsort(-Y.sum(axis=0), kind="stable")]
    renders(ax.figure)


def test_label_frequency_on_given_axes_and_frames():
    pd = pytest.importorskip("pandas")
    _, Y = labels_data()
    fig, ax = plt.subplots()
    out = P.plot_label_frequency(pd.DataFrame(Y, columns=[f"L{i}" for i in range(6)]), ax=ax)
    assert out is ax and tick_texts(ax) == [f"L{i}" for i in range(6)]
    renders(fig)


def test_irlbl_before_and_after():
    X, Y = labels_data(n=600)
    _, Y_res = R.MLSMOTE(random_state=0).fit_resample(X, Y)
    ax = P.plot_irlbl(Y, Y_res)
    np.testing.assert_allclose(heights(ax.containers[0]), R.irlbl(Y))
    np.testing.assert_allclose(heights(ax.containers[1]), R.irlbl(Y_res))
    lines = [line.get_ydata()[0] for line in ax.get_lines()]
    np.testing.assert_allclose(lines, [R.mean_ir(Y), R.mean_ir(Y_res)])
    renders(ax.figure)
    ax = P.plot_irlbl(Y, log=True)
    assert len(ax.containers) == 1 and ax.get_yscale() == "log"
    renders(ax.figure)


def test_balance_with_given_weights():
    _, Y = labels_data()
    n = len(Y)
    pos = Y.sum(axis=0)
    w_pos = np.full(6, 2.0)
    w_neg = np.ones(6)
    before, after = P.plot_label_balance(Y, weights=(w_pos, w_neg))
    np.testing.assert_allclose(heights(before.containers[0]), pos / n)
    np.testing.assert_allclose(heights(before.containers[1]), 1 - pos / n)
    share = 2 * pos / (2 * pos + (n - pos))
    np.testing.assert_allclose(heights(after.containers[0]), share)
    np.testing.assert_allclose(heights(after.containers[1]), 1 - share)
    renders(before.figure)


@pytest.mark.parametrize("method", ["frequency", "balanced", "pos_weight"])
def test_balance_with_label_weights(method):
    losses = pytest.importorskip("fastml.losses")
    if not hasattr(losses, "label_weights"):
        pytest.skip("fastml.losses.label_weights is not available yet")
    _, Y = labels_data()
    Y[:, 5] = 0  # a label without positives keeps neutral weights (label_weights warns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before, after = P.plot_label_balance(Y, weights=method)
        w_pos, w_neg = losses.label_weights(Y, method)
    pos = Y.sum(axis=0)
    wp, wn = w_pos * pos, w_neg * (len(Y) - pos)
    np.testing.assert_allclose(heights(after.containers[0]), wp / (wp + wn))
    # the weights equalise the two sides of every label that has both
    np.testing.assert_allclose(heights(after.containers[0])[:5], 0.5)
    np.testing.assert_allclose(heights(before.containers[0]), pos / len(Y))
    renders(after.figure)


def test_bad_input():
    _, Y = labels_data()
    with pytest.raises(ValueError):
        P.plot_label_frequency(Y, label_names=["a"])
    with pytest.raises(ValueError):
        P.plot_irlbl(Y, Y[:, :3])
    with pytest.raises(ValueError):
        P.plot_label_balance(Y, weights=(np.ones(3), np.ones(3)))
    with pytest.raises(ValueError):
        P.plot_label_balance(Y, weights=(-np.ones(6), np.ones(6)))
    with pytest.raises(TypeError):
        P.plot_label_balance(Y, weights=5)
    with pytest.raises(ValueError):
        P.plot_label_frequency([[0, 2]])


def test_clear_error_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"fastml-multilabel\[plot\]"):
        P.plot_label_frequency([[1, 0]])
