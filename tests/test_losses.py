"""fastml.losses against plain NumPy twins, finite differences, a high-precision (mpmath)
reference, torch / torchvision's formulas, and XGBoost / LightGBM training runs."""

import doctest
import inspect
import tempfile
import warnings

import numpy as np
import pytest
from scipy.special import expit

import fastml
import fastml.losses as L
import fastml.slow.losses as slow
from fastml.losses import (
    AveragePrecisionMetric,
    LightGBMObjective,
    XGBoostObjective,
    focal_loss,
    label_frequencies,
    label_weights,
    prior_logits,
    weighted_bce,
)
from fastml.losses._core import _prepare

HESSIANS = ["exact", "clip", "abs", "fisher"]

# ---------------------------------------------------------------- plain NumPy twins


def np_bce(y, z, w_pos=1.0, w_neg=1.0, sample_weight=None):
    """The slow twin, in float64."""
    return slow.weighted_bce(y, z, w_pos, w_neg, sample_weight, dtype=np.float64)


def np_focal(y, z, alpha=0.25, gamma=2.0):
    return slow.focal(y, z, alpha, gamma, dtype=np.float64)


def quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **kwargs)


def make(rng, shape, prevalence=0.2, scale=3.0, soft=False, dtype=np.float64):
    y = (rng.random(shape) < prevalence).astype(np.float64)
    if soft:
        y = np.clip(y * 0.9 + rng.random(shape) * 0.1, 0, 1)
    z = (rng.standard_normal(shape) * scale).astype(dtype)
    return y, z


# ------------------------------------------------------------- label frequencies/weights


def test_label_frequencies_and_weights():
    Y = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 0]])
    pos, neg = label_frequencies(Y)
    np.testing.assert_allclose(pos, [0.25, 0.25, 0.75])
    np.testing.assert_allclose(neg, [0.75, 0.75, 0.25])
    wp, wn = label_weights(Y, "frequency")
    np.testing.assert_allclose(wp, neg)
    np.testing.assert_allclose(wn, pos)
    wp, wn = label_weights(Y, "balanced")
    n_pos = Y.sum(0)
    np.testing.assert_allclose(wp, 4 / (2 * n_pos))
    np.testing.assert_allclose(wn, 4 / (2 * (4 - n_pos)))
    wp, wn = label_weights(Y, "pos_weight")
    np.testing.assert_allclose(wp, (4 - n_pos) / n_pos)
    np.testing.assert_allclose(wn, 1.0)
    # every method equalises the two classes' total weight within a label
    for method in ("frequency", "balanced", "pos_weight"):
        wp, wn = label_weights(Y, method)
        np.testing.assert_allclose(wp * n_pos, wn * (4 - n_pos))
    # 1-D input is one label; bool and soft labels
    np.testing.assert_allclose(label_frequencies(Y[:, 0])[0], [0.25])
    np.testing.assert_allclose(label_frequencies(Y.astype(bool))[0], pos)
    np.testing.assert_allclose(label_frequencies([[0.5], [0.25]])[0], [0.375])


@pytest.mark.parametrize("method", ["frequency", "balanced", "pos_weight"])
def test_label_weights_one_class_labels(method):
    Y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1]])  # label 1: no positives; 2: no negatives
    with pytest.warns(UserWarning, match=r"labels \[1, 2\]"):
        wp, wn = label_weights(Y, method)
    assert np.all(np.isfinite(wp)) and np.all(np.isfinite(wn))
    neutral = 0.5 if method == "frequency" else 1.0
    np.testing.assert_allclose(wp[1:], neutral)
    np.testing.assert_allclose(wn[1:], neutral)
    ref_p, ref_n = label_weights(Y[:, :1], method)
    np.testing.assert_allclose([wp[0], wn[0]], [ref_p[0], ref_n[0]])
    with pytest.raises(ValueError, match="no positives or no negatives"):
        label_weights(Y, method, one_class="raise")


def test_label_weights_errors():
    with pytest.raises(ValueError, match="method"):
        label_weights([[0, 1], [1, 0]], "inverse")
    with pytest.raises(ValueError):
        label_frequencies([[0, 2], [1, 0]])
    with pytest.raises(ValueError):
        label_frequencies([[0, 1.5], [1, 0]])
    with pytest.raises(ValueError):
        label_frequencies(np.zeros((0, 3)))
    with pytest.raises(TypeError):
        label_frequencies([["a", "b"]])


# ------------------------------------------------------------------ NumPy twins, shapes


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("soft", [False, True])
def test_weighted_bce_matches_numpy(dtype, soft):
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (7, 3), (500, 9), (3000, 40)]:
        y, z = make(rng, shape, soft=soft, dtype=dtype)
        wp = rng.random(shape[1]) * 3
        wn = rng.random(shape[1]) + 0.5
        sw = rng.random(shape[0]) * 2
        loss, grad, hess = weighted_bce(
            y, z, wp, wn, reduction="none", sample_weight=sw, return_grad=True, return_hess=True
        )
        ref = np_bce(y, z, wp, wn, sw)
        tol = 1e-13 if dtype == np.float64 else 2e-6
        for got, want in zip((loss, grad, hess), ref, strict=True):
            assert got.dtype == dtype and got.shape == shape
            # float32: absolute error up to rounding of the inputs (soft labels) and terms
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
        total = weighted_bce(y, z, wp, wn, reduction="sum", sample_weight=sw)
        assert isinstance(total, float)
        np.testing.assert_allclose(total, ref[0].sum(), rtol=tol)
        mean = weighted_bce(y, z, wp, wn, sample_weight=sw)
        np.testing.assert_allclose(mean, ref[0].mean(), rtol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gamma", [2.0, 0.0, 1.0, 1.5, 3.0])
@pytest.mark.parametrize("soft", [False, True])
def test_focal_matches_numpy(dtype, gamma, soft):
    rng = np.random.default_rng(1)
    y, z = make(rng, (400, 7), scale=4.0, soft=soft, dtype=dtype)
    alpha = rng.random(7)
    ref_loss, ref_grad, ref_exact, ref_fisher = np_focal(y, z, alpha[None, :], gamma)
    # the twin itself loses digits (1 - p_t by subtraction): agreement to 1e-10 in float64;
    # accuracy to a few ulp is checked against mpmath below
    tol = 1e-10 if dtype == np.float64 else 1e-5
    for hessian, ref_hess in [
        ("exact", ref_exact),
        ("clip", np.maximum(ref_exact, 1e-3)),
        ("abs", np.abs(ref_exact)),
        ("fisher", ref_fisher),
    ]:
        loss, grad, hess = focal_loss(
            y, z, alpha=alpha, gamma=gamma, reduction="none", hessian=hessian, min_hess=1e-3,
            return_grad=True, return_hess=True,
        )
        assert loss.dtype == grad.dtype == hess.dtype == dtype
        for got, want in ((loss, ref_loss), (grad, ref_grad), (hess, ref_hess)):
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    np.testing.assert_allclose(
        focal_loss(y, z, alpha=alpha, gamma=gamma, reduction="sum"), ref_loss.sum(), rtol=tol
    )


def test_focal_alpha_forms():
    rng = np.random.default_rng(2)
    y, z = make(rng, (50, 4))
    plain = np_focal(y, z, None, 2.0)[0]
    for off in (-1, -0.5, None):
        np.testing.assert_allclose(focal_loss(y, z, alpha=off, reduction="none"), plain)
    np.testing.assert_allclose(
        focal_loss(y, z, alpha=0.3, reduction="none"), np_focal(y, z, 0.3, 2.0)[0], rtol=1e-10
    )
    # gamma = 0 with alpha off is the plain BCE
    np.testing.assert_allclose(
        focal_loss(y, z, alpha=None, gamma=0.0, reduction="none"), np_bce(y, z)[0], rtol=1e-13
    )


@pytest.mark.parametrize("loss", ["bce", "focal"])
def test_layouts_and_input_kinds(loss):
    """Fortran order, strided views, 1-D, 3-D, lists, pandas, int/bool labels: same numbers."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    y, z = make(rng, (300, 6))
    w = rng.random(6) + 0.2

    def f(yy, zz, **kw):
        if loss == "bce":
            return weighted_bce(yy, zz, w, reduction="none", return_grad=True, **kw)
        return focal_loss(yy, zz, alpha=w / 2, reduction="none", return_grad=True, **kw)

    ref_l, ref_g = f(y, z)
    for yy, zz in [
        (np.asfortranarray(y), np.asfortranarray(z)),
        (np.asfortranarray(y), z),
        (y.astype(np.int64), z),
        (y.astype(bool), z),
        (y.astype(np.uint8), np.asfortranarray(z)),
        (y.tolist(), z.tolist()),
        (pd.DataFrame(y), pd.DataFrame(z)),
    ]:
        got_l, got_g = f(yy, zz)
        np.testing.assert_allclose(got_l, ref_l, rtol=1e-14)
        np.testing.assert_allclose(got_g, ref_g, rtol=1e-14)
    got_l, _ = f(np.asfortranarray(y), np.asfortranarray(z))
    assert got_l.flags.f_contiguous  # outputs follow the input's layout
    # strided views
    yb, zb = make(rng, (600, 12))
    got_l, got_g = f(yb[::2, ::2], zb[::2, ::2])
    ref_l, ref_g = f(np.ascontiguousarray(yb[::2, ::2]), np.ascontiguousarray(zb[::2, ::2]))
    np.testing.assert_allclose(got_l, ref_l)
    # 1-D: one label; 3-D: labels on the last axis
    y3, z3 = make(rng, (4, 25, 6))
    got_l, got_g = f(y3, z3)
    ref_l, ref_g = f(y3.reshape(-1, 6), z3.reshape(-1, 6))
    assert got_l.shape == (4, 25, 6)
    np.testing.assert_allclose(got_l.reshape(-1, 6), ref_l)
    y1, z1 = y[:, 0], z[:, 0]
    if loss == "bce":
        got_l = weighted_bce(y1, z1, w[0], reduction="none")
        ref_l = weighted_bce(y[:, :1], z[:, :1], w[:1], reduction="none")
    else:
        got_l = focal_loss(y1, z1, alpha=w[0] / 2, reduction="none")
        ref_l = focal_loss(y[:, :1], z[:, :1], alpha=w[:1] / 2, reduction="none")
    assert got_l.shape == y1.shape
    np.testing.assert_allclose(got_l, ref_l[:, 0])


def test_integer_logits_and_float_dtypes():
    y = np.array([[1, 0], [0, 1]])
    z = np.array([[2, -1], [0, 3]])
    assert weighted_bce(y, z, reduction="none").dtype == np.float64
    np.testing.assert_allclose(weighted_bce(y, z), weighted_bce(y, z.astype(float)))
    z16 = z.astype(np.float16)
    assert weighted_bce(y, z16, reduction="none").dtype == np.float32
    # float64 labels with float32 logits, float32 labels with float64 logits
    y64 = y.astype(np.float64)
    out = focal_loss(y64, z.astype(np.float32), reduction="none")
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        focal_loss(y64.astype(np.float32), z.astype(np.float64)), focal_loss(y, z), rtol=1e-15
    )


def test_gradients_are_elementwise_and_outputs_optional():
    rng = np.random.default_rng(4)
    y, z = make(rng, (20, 3))
    for reduction in ("mean", "sum", "none"):
        _, g = weighted_bce(y, z, reduction=reduction, return_grad=True)
        _, h = weighted_bce(y, z, reduction=reduction, return_hess=True)
        np.testing.assert_allclose(g, np_bce(y, z)[1])
        np.testing.assert_allclose(h, np_bce(y, z)[2])
    assert isinstance(weighted_bce(y, z), float)
    assert len(focal_loss(y, z, return_grad=True, return_hess=True)) == 3


def test_reductions_and_empty():
    rng = np.random.default_rng(5)
    y, z = make(rng, (33, 5))
    none = focal_loss(y, z, reduction="none")
    assert focal_loss(y, z, reduction="sum") == pytest.approx(none.sum(), rel=1e-14)
    assert focal_loss(y, z, reduction="mean") == pytest.approx(none.mean(), rel=1e-14)
    empty = np.zeros((0, 3))
    assert weighted_bce(empty, empty, reduction="sum") == 0.0
    assert weighted_bce(empty, empty, reduction="none").shape == (0, 3)
    with pytest.raises(ValueError, match="empty"):
        weighted_bce(empty, empty)


def test_sum_does_not_depend_on_thread_count():
    rng = np.random.default_rng(6)
    y, z = make(rng, (200_000, 5))
    before = fastml.get_num_threads()
    try:
        fastml.set_num_threads(1)
        one = (weighted_bce(y, z, reduction="sum"), focal_loss(y, z, reduction="sum"))
        fastml.set_num_threads(before)
        many = (weighted_bce(y, z, reduction="sum"), focal_loss(y, z, reduction="sum"))
    finally:
        fastml.set_num_threads(before)
    assert one == many


def _every_output(y, z, sw, from_logits):
    """Sums, element-wise losses, gradients and hessians of both losses (several paths)."""
    out = []
    for f, kw in [(weighted_bce, {"w_pos": 2.5, "w_neg": 0.5}),
                  (focal_loss, {"alpha": 0.3}),
                  (focal_loss, {"gamma": 1.5, "hessian": "clip"})]:
        for reduction in ("sum", "none"):
            out.append(f(y, z, reduction=reduction, sample_weight=sw, from_logits=from_logits,
                         return_grad=True, return_hess=True, **kw))
    return out


def _bits(outputs):
    """Every number of ``outputs`` as bytes (bit-identical comparison, NaN-safe)."""
    return [np.asarray(a).tobytes() for result in outputs for a in result]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_bit_identical_for_any_thread_count(threads, dtype):
    rng = np.random.default_rng(16)
    n, k = 60_000, 7  # 1667 blocks of 36 rows, 12 tasks
    y, z = make(rng, (n, k), soft=True, dtype=dtype)
    y = y.astype(dtype)
    p = expit(z.astype(np.float64)).astype(dtype)
    sw = rng.random(n)
    y_long, z_long = make(rng, (9, 25_000), soft=True, dtype=dtype)  # rows cut into blocks
    cases = [
        (y, z, None, True),
        (y, z, sw, True),
        (np.asfortranarray(y), np.asfortranarray(z), sw, True),  # label-major kernel view
        (y > 0.5, p, None, False),  # uint8 labels, probabilities
        (y_long.astype(dtype), z_long, rng.random(9), True),
    ]
    for y_, z_, sw_, from_logits in cases:
        threads(1)
        one = _bits(_every_output(y_, z_, sw_, from_logits))
        for n_threads in (2, 3):
            threads(n_threads)
            assert _bits(_every_output(y_, z_, sw_, from_logits)) == one, n_threads


def _loss_in_child(queue):
    rng = np.random.default_rng(9)
    y, z = make(rng, (100_000, 5))
    queue.put(weighted_bce(y, z, reduction="sum"))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_threads_work_after_fork():
    """A forked child (joblib, multiprocessing) must not wait on the parent's pool threads."""
    import multiprocessing

    rng = np.random.default_rng(9)
    y, z = make(rng, (100_000, 5))
    expected = weighted_bce(y, z, reduction="sum")  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_loss_in_child, args=(queue,))
    child.start()
    child.join(timeout=120)
    alive = child.is_alive()
    if alive:
        child.terminate()
    assert not alive, "the forked child hung"
    assert child.exitcode == 0 and queue.get(timeout=5) == expected


def _losses_in_pool_child(seed):
    rng = np.random.default_rng(seed)
    y, z = make(rng, (50_000, 6), dtype=np.float32)
    loss, grad, hess = focal_loss(y, z, reduction="sum", return_grad=True, return_hess=True)
    return weighted_bce(y, z, reduction="sum"), loss, grad.tobytes(), hess.tobytes()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_fork_pool_child_after_parent_call(threads):
    """Children of a fork pool run the kernels (with their own threads) after the parent
    has used its thread pool, and get the parent's results."""
    import multiprocessing

    threads(2)
    expected = [_losses_in_pool_child(s) for s in range(3)]  # the parent has used its pool
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        result = pool.map_async(_losses_in_pool_child, range(3))
        assert result.get(timeout=120) == expected


def test_inputs_are_not_copied():
    rng = np.random.default_rng(7)
    y, z = make(rng, (40, 5))
    for yy, zz in [(y, z), (np.asfortranarray(y), np.asfortranarray(z))]:
        p = _prepare(yy, zz, None, True)
        assert np.shares_memory(p.z, zz) and np.shares_memory(p.y, yy)
    yb = y.astype(bool)
    assert np.shares_memory(_prepare(yb, z, None, True).y, yb)


# -------------------------------------------------------------------- derivatives


def _fd(f, z, h):
    return (f(z + h) - f(z - h)) / (2 * h)


@pytest.mark.parametrize("kind", ["bce", "focal-2", "focal-1.5", "focal-soft"])
def test_finite_differences(kind):
    """grad = d loss / dz and (exact) hess = d grad / dz on z in [-30, 30], float64."""
    z = np.linspace(-30, 30, 2401)
    z = np.concatenate([z, z + 1e-3])
    ys = [0.0, 1.0, 0.3] if kind == "focal-soft" else [0.0, 1.0]
    for yv in ys:
        y = np.full_like(z, yv)
        if kind == "bce":
            def run(zz, y=y):
                return weighted_bce(y, zz, 1.7, 0.6, reduction="none", return_grad=True,
                                    return_hess=True)
        else:
            gamma = 1.5 if kind == "focal-1.5" else 2.0
            def run(zz, y=y, gamma=gamma):
                return focal_loss(y, zz, alpha=0.3, gamma=gamma, reduction="none",
                                  return_grad=True, return_hess=True)
        _, g, hss = run(z)
        h = 1e-5 * np.maximum(1.0, np.abs(z))
        g_fd = _fd(lambda t: run(t)[0], z, h)
        h_fd = _fd(lambda t: run(t)[1], z, h)
        np.testing.assert_allclose(g, g_fd, rtol=2e-6, atol=1e-9 * (np.abs(g).max() + 1e-300))
        np.testing.assert_allclose(hss, h_fd, rtol=2e-5, atol=1e-8 * np.abs(hss).max())


def _mp_loss(mp, kind, y, z, alpha=0.3, gamma=2.0, w_pos=1.7, w_neg=0.6):
    z = mp.mpf(z)
    y = mp.mpf(y)
    spn = mp.log1p(mp.exp(-z))  # softplus(-z)
    spp = mp.log1p(mp.exp(z))
    if kind == "bce":
        return w_pos * y * spn + w_neg * (1 - y) * spp
    q = 1 / (1 + mp.exp(-z))
    u = 1 / (1 + mp.exp(z))
    m = y * u + (1 - y) * q
    at = alpha * y + (1 - alpha) * (1 - y)
    return at * m ** mp.mpf(gamma) * (y * spn + (1 - y) * spp)


@pytest.mark.parametrize("kind", ["bce", "focal"])
def test_high_precision_reference(kind):
    """Values, gradients and exact hessians against mpmath (50 digits) up to |z| = 100:
    float64 within a few ulp, float32 within float32 rounding (values below its smallest
    normal number, about 1e-38, flush to zero)."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp
    mp.dps = 50
    grid = np.concatenate([-np.geomspace(100, 1e-3, 40), [0.0], np.geomspace(1e-3, 100, 40)])
    for yv, gamma in [(0.0, 2.0), (1.0, 2.0), (0.3, 2.0), (1.0, 1.5)]:
        if kind == "bce" and gamma != 2.0:
            continue

        for dtype, rtol, tiny in [(np.float64, 5e-14, 1e-300), (np.float32, 3e-6, 2e-38)]:
            z = grid.astype(dtype)
            y = np.full(grid.shape, yv, dtype)
            y_exact = float(y[0])  # the label as the kernel sees it (0.3 rounds in float32)

            def loss(t, y_exact=y_exact, gamma=gamma):
                return _mp_loss(mp, kind, y_exact, t, gamma=gamma)

            ref = np.array(
                [[float(mp.diff(loss, float(zv), k)) for k in (0, 1, 2)] for zv in z]
            )
            if kind == "bce":
                got = weighted_bce(y, z, 1.7, 0.6, reduction="none", return_grad=True,
                                   return_hess=True)
            else:
                got = focal_loss(y, z, alpha=0.3, gamma=gamma, reduction="none",
                                 return_grad=True, return_hess=True)
            for k in range(3):
                want = ref[:, k]
                scale = np.abs(want)
                if k == 2 and kind == "focal" or k > 0 and 0 < yv < 1:
                    # sums of terms of both signs (the exact focal hessian, the gradient of
                    # a soft label) vanish somewhere: near there, measure the error against
                    # the size of the terms, not of the (vanishing) result
                    scale = np.maximum(scale, 0.05 * np.abs(want).max())
                err = np.abs(got[k].astype(np.float64) - want)
                assert np.all(err <= rtol * scale + tiny), (yv, gamma, dtype, k, err.max())


@pytest.fixture(params=["baseline", "avx2", "avx512"])
def simd_level(request):
    """Each build of the element loops this CPU can run (the others are skipped)."""
    from fastml.kernels.cpu import losses as kernels

    if request.param not in kernels.simd_levels():
        pytest.skip(f"the {request.param} build cannot run here")
    before = kernels.get_simd_level()
    kernels.set_simd_level(request.param)
    yield request.param
    kernels.set_simd_level(before)


@pytest.mark.parametrize("kind", ["bce", "focal"])
def test_high_precision_reference_every_simd_level(simd_level, kind):
    """Fused multiply-adds change last bits between builds: each is held to the mpmath
    tolerances on its own."""
    test_high_precision_reference(kind)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simd_levels_agree_with_numpy_twins(simd_level, dtype):
    rng = np.random.default_rng(17)
    y, z = make(rng, (3000, 6), soft=True, scale=6.0, dtype=dtype)
    y = y.astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    got = weighted_bce(y, z, 1.5, 0.7, reduction="none", return_grad=True, return_hess=True)
    for g, want in zip(got, np_bce(y, z, 1.5, 0.7), strict=True):
        np.testing.assert_allclose(g, want, rtol=tol, atol=tol * np.abs(want).max())
    ref = np_focal(y, z, 0.25, 2.0)
    for hessian, h_ref in [("exact", ref[2]), ("fisher", ref[3]), ("abs", np.abs(ref[2]))]:
        got = focal_loss(y, z, hessian=hessian, reduction="none", return_grad=True,
                         return_hess=True)
        for g, want in zip(got, (ref[0], ref[1], h_ref), strict=True):
            np.testing.assert_allclose(g, want, rtol=tol, atol=tol * np.abs(want).max())
    p = expit(z.astype(np.float64)).astype(dtype)
    got = weighted_bce(y, p, from_logits=False, reduction="none")
    p64 = p.astype(np.float64)
    with np.errstate(divide="ignore"):  # p = 0 or 1: the logs are capped at 100
        want = (y * np.minimum(-np.log(p64), 100.0)
                + (1 - y) * np.minimum(-np.log1p(-p64), 100.0))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    with pytest.raises(ValueError, match="NaN or infinite"):
        weighted_bce(y, np.where(y > 0.5, np.inf, z))


def test_simd_level_from_environment():
    import os
    import subprocess
    import sys

    code = (
        "from fastml.kernels.cpu import losses as k; import fastml.losses as L; "
        "print(k.get_simd_level(), L.weighted_bce([[1, 0]], [[2.0, -1.0]]))"
    )
    from fastml.kernels.cpu import losses as kernels

    for cap in ("baseline", "avx2"):
        env = {**os.environ, "FASTML_SIMD": cap}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True,
                             cwd=tempfile.gettempdir()).stdout.split()
        expected = cap if cap in kernels.simd_levels() else "baseline"
        assert out[0] == expected
        assert float(out[1]) == pytest.approx(weighted_bce([[1, 0]], [[2.0, -1.0]]), rel=1e-15)
    with pytest.raises(ValueError, match="not available"):
        kernels.set_simd_level("sse9")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_logits_are_finite(dtype):
    z = np.array([-1e4, -800.0, -100.0, -30.0, 0.0, 30.0, 100.0, 800.0, 1e4], dtype)
    for yv in (0.0, 1.0, 0.5):
        y = np.full(z.shape, yv)
        outs = [
            weighted_bce(y, z, 2.0, 0.5, reduction="none", return_grad=True, return_hess=True),
            *[
                focal_loss(y, z, gamma=g, hessian=h, reduction="none", return_grad=True,
                           return_hess=True)
                for g in (2.0, 1.5, 0.0)
                for h in HESSIANS
            ],
            weighted_bce(y, z, reduction="none", from_logits=False if False else True),
        ]
        for out in outs:
            for a in (out if isinstance(out, tuple) else (out,)):
                assert np.all(np.isfinite(a)), (yv, a)
    # the loss of a confidently wrong prediction grows like |z|, of a right one vanishes
    bce = weighted_bce([1.0, 0.0, 1.0, 0.0], np.array([-1e4, 1e4, 1e4, -1e4], dtype),
                       reduction="none")
    np.testing.assert_allclose(bce, [1e4, 1e4, 0.0, 0.0])
    fl = focal_loss([1.0, 0.0], np.array([-1e4, 1e4], dtype), alpha=0.25, reduction="none")
    np.testing.assert_allclose(fl, [0.25e4, 0.75e4])


def test_focal_exact_hessian_sign():
    """The exact hessian is negative only for confidently wrong predictions: p_t below about
    0.058 at gamma = 2, down to about -0.047 (alpha off); the surrogates stay >= 0."""
    z = np.linspace(-40, 40, 80001)
    y = np.ones_like(z)  # p_t = sigmoid(z)
    _, h = focal_loss(y, z, alpha=None, reduction="none", return_hess=True)
    negative = h < 0
    assert negative.any()
    p_t = expit(z)
    assert p_t[negative].max() == pytest.approx(0.058, abs=0.002)
    assert h.min() == pytest.approx(-0.047, abs=0.002)
    for hessian in ("clip", "abs", "fisher"):
        _, hh = focal_loss(y, z, alpha=None, hessian=hessian, reduction="none",
                           return_hess=True)
        assert (hh >= 0).all()
    _, hf = focal_loss(y, z, alpha=0.25, hessian="fisher", reduction="none",
                       return_hess=True)
    np.testing.assert_allclose(hf, 0.25 * p_t * expit(-z), rtol=1e-12, atol=1e-300)


def test_probability_input():
    rng = np.random.default_rng(8)
    y, z = make(rng, (200, 4), soft=True)
    p = expit(z)
    for f, kw in [(weighted_bce, {"w_pos": [1, 2, 3, 4]}), (focal_loss, {"gamma": 1.5})]:
        a = f(y, z, reduction="none", return_grad=True, return_hess=True, **kw)
        b = f(y, p, reduction="none", return_grad=True, return_hess=True, from_logits=False,
              **kw)
        for x1, x2 in zip(a, b, strict=True):
            np.testing.assert_allclose(x1, x2, rtol=1e-9, atol=1e-12)
    # p = 0 or 1 against the wrong label: -log capped at 100, as torch's BCELoss
    got = weighted_bce([1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0], reduction="none",
                       from_logits=False)
    np.testing.assert_allclose(got, [100.0, 100.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="probabilities outside"):
        weighted_bce([1.0], [1.5], from_logits=False)


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("f", [weighted_bce, focal_loss])
def test_bad_input(f):
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    z = np.array([[0.5, -1.0], [2.0, 0.0]])
    bad = [
        (ValueError, "same shape", (y, z[:, :1]), {}),
        (ValueError, "NaN or infinite", (y, np.where(y > 0, np.nan, z)), {}),
        (ValueError, "NaN or infinite", (y, np.where(y > 0, np.inf, z)), {}),
        (ValueError, r"\[0, 1\]", (y * 2, z), {}),
        (ValueError, r"\[0, 1\]", (-y, z), {}),
        (ValueError, r"\[0, 1\]", (np.where(y > 0, np.nan, y), z), {}),
        (ValueError, r"\[0, 1\]", (y.astype(int) * 2, z), {}),
        (ValueError, "reduction", (y, z), {"reduction": "avg"}),
        (ValueError, "reduction", (y, z), {"reduction": None}),
        (TypeError, "dtype", (y, z.astype(complex)), {}),
        (TypeError, "dtype", (y, z.astype(str)), {}),
        (TypeError, "dtype", (y, z.astype(object)), {}),
        (TypeError, "dtype", (y.astype(str), z), {}),
        (TypeError, "None", (y, None), {}),
        (TypeError, "array-like", ([[1, 0], [1]], z), {}),
        (ValueError, "sample_weight", (y, z), {"sample_weight": [1.0]}),
        (ValueError, "sample_weight", (y, z), {"sample_weight": [1.0, -1.0]}),
        (ValueError, "sample_weight", (y, z), {"sample_weight": [1.0, np.nan]}),
    ]
    if f is weighted_bce:
        bad += [
            (ValueError, "w_pos", (y, z, [1.0, 2.0, 3.0]), {}),
            (ValueError, "w_pos", (y, z, -1.0), {}),
            (ValueError, "w_neg", (y, z, None, [np.inf, 1.0]), {}),
        ]
    else:
        bad += [
            (ValueError, "alpha", (y, z), {"alpha": 1.5}),
            (ValueError, "alpha", (y, z), {"alpha": [0.1, 0.2, 0.3]}),
            (ValueError, "gamma", (y, z), {"gamma": -1.0}),
            (ValueError, "gamma", (y, z), {"gamma": np.nan}),
            (TypeError, "gamma", (y, z), {"gamma": "2"}),
            (ValueError, "hessian", (y, z), {"hessian": "newton"}),
        ]
    for exc, match, args, kwargs in bad:
        with pytest.raises(exc, match=match):
            f(*args, **kwargs)
    # CuPy-like objects are refused with a clear message, not handed to the kernels
    fake = type("ndarray", (), {"__module__": "cupy"})()
    with pytest.raises(TypeError, match="CuPy"):
        f(y, fake)


# ------------------------------------------------------------------------- doctests


@pytest.mark.parametrize("module", ["_core", "_boosting", "torch"])
def test_docstring_examples(module):
    if module == "torch":
        pytest.importorskip("torch")
    mod = __import__(f"fastml.losses.{module}", fromlist=["_"])
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_lazy_exports():
    assert sorted(L.__all__) == L.__all__
    for name in L.__all__:
        assert callable(getattr(L, name))
    with pytest.raises(AttributeError):
        L.nope  # noqa: B018


# --------------------------------------------------------------------------- torch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_bce_with_pos_weight(torch, dtype, reduction):
    from fastml.losses.torch import WeightedBCEWithLogitsLoss, weighted_bce_with_logits

    tdt = getattr(torch, dtype)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(300, 6, generator=g, dtype=tdt) * 4
    y = (torch.rand(300, 6, generator=g) < 0.2).to(tdt)
    pw = torch.rand(6, generator=g, dtype=tdt) * 5
    z1 = z.clone().requires_grad_(True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(z1, y, pos_weight=pw,
                                                               reduction=reduction)
    z2 = z.clone().requires_grad_(True)
    got = weighted_bce_with_logits(z2, y, w_pos=pw, reduction=reduction)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    # float32: torch's backward computes pos_weight * (sigmoid(z) - 1) by subtraction, so
    # compare on the scale of the gradients (fastml's float32 accuracy: the mpmath test)
    tol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    upstream = torch.rand(ref.shape, generator=g, dtype=tdt) if reduction == "none" else None
    (ref if upstream is None else ref * upstream).sum().backward()
    (got if upstream is None else got * upstream).sum().backward()
    scale = np.abs(z1.grad.numpy()).max()
    np.testing.assert_allclose(z2.grad.numpy(), z1.grad.numpy(), rtol=tol, atol=tol * scale)
    # the module, with the same numbers (and a scaled backward: 3 * loss)
    z3 = z.clone().requires_grad_(True)
    (3 * WeightedBCEWithLogitsLoss(w_pos=pw, reduction="sum")(z3, y)).backward()
    z4 = z.clone().requires_grad_(True)
    (3 * torch.nn.functional.binary_cross_entropy_with_logits(
        z4, y, pos_weight=pw, reduction="sum")).backward()
    scale = np.abs(z4.grad.numpy()).max()
    np.testing.assert_allclose(z3.grad.numpy(), z4.grad.numpy(), rtol=tol, atol=tol * scale)


def torchvision_focal(torch, inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss's formula, transcribed in torch operations."""
    p = torch.sigmoid(inputs)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("alpha, gamma", [(0.25, 2), (-1, 2), (0.6, 1.5), (0.25, 0)])
def test_torch_focal_matches_torchvision_formula(torch, dtype, reduction, alpha, gamma):
    from fastml.losses.torch import FocalLoss, sigmoid_focal_loss

    tdt = getattr(torch, dtype)
    g = torch.Generator().manual_seed(1)
    z = torch.randn(200, 5, generator=g, dtype=tdt) * 3
    y = (torch.rand(200, 5, generator=g) < 0.3).to(tdt)
    z1 = z.clone().requires_grad_(True)
    ref = torchvision_focal(torch, z1, y, alpha, gamma, reduction)
    z2 = z.clone().requires_grad_(True)
    got = sigmoid_focal_loss(z2, y, alpha, gamma, reduction)
    tol = 1e-12 if dtype == "float64" else 5e-6
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    ref.sum().backward()
    got.sum().backward()
    scale = np.abs(z1.grad.numpy()).max()
    np.testing.assert_allclose(z2.grad.numpy(), z1.grad.numpy(), rtol=tol, atol=tol * scale)
    module = FocalLoss(alpha, gamma, reduction)
    np.testing.assert_allclose(module(z, y).numpy(), ref.detach().numpy(), rtol=tol, atol=tol)


def test_torch_no_grad_and_errors(torch):
    from fastml.losses.torch import sigmoid_focal_loss, weighted_bce_with_logits

    z = torch.randn(10, 3)
    y = torch.zeros(10, 3)
    with torch.no_grad():
        out = weighted_bce_with_logits(z.requires_grad_(True), y)
    assert not out.requires_grad
    assert weighted_bce_with_logits(z.detach(), y.to(torch.bool)).item() > 0  # bool targets
    with pytest.raises(TypeError):
        sigmoid_focal_loss(z.to(torch.float16), y)
    with pytest.raises(TypeError):
        sigmoid_focal_loss(z.detach().numpy(), y)
    with pytest.raises(ValueError):
        sigmoid_focal_loss(z, y + 2)
    # transposed (non-contiguous) tensors work
    zt = torch.randn(3, 10, dtype=torch.float64).t().requires_grad_(True)
    yt = (torch.rand(3, 10) < 0.5).double().t()
    sigmoid_focal_loss(zt, yt, reduction="sum").backward()
    z5 = zt.detach().clone().requires_grad_(True)
    torchvision_focal(torch, z5, yt, reduction="sum").backward()
    np.testing.assert_allclose(zt.grad.numpy(), z5.grad.numpy(), rtol=1e-12)


# -------------------------------------------------------------- XGBoost and LightGBM


def multilabel_data(n=8000, d=10, n_labels=5, seed=0):
    """Imbalanced multi-label set (prevalences 20% down to 2%), half train, half test."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, n_labels))
    signal = 0.8 * X @ W + 0.5 * np.sin(3 * X[:, :n_labels])
    prev = np.geomspace(0.2, 0.02, n_labels)
    thr = np.array([np.quantile(signal[:, k], 1 - prev[k]) for k in range(n_labels)])
    Y = (signal + 0.7 * rng.logistic(size=signal.shape) > thr).astype(np.float32)
    h = n // 2
    return X[:h], Y[:h], X[h:], Y[h:]


def _xgb_fit(xgb, data, obj, start, rounds=50):
    X, Y, Xt, Yt = data
    params = {"tree_method": "hist", "num_target": Y.shape[1], "max_depth": 4, "eta": 0.1,
              "multi_strategy": "one_output_per_tree", "nthread": 1}
    if obj is None:
        params["objective"] = "binary:logistic"
    dtrain = xgb.DMatrix(X, label=Y, base_margin=np.tile(start, (len(X), 1)))
    dtest = xgb.DMatrix(Xt, label=Yt, base_margin=np.tile(start, (len(Xt), 1)))
    booster = xgb.train(params, dtrain, rounds, obj=obj)
    margin = booster.predict(dtest, output_margin=True)
    return quiet(AveragePrecisionMetric(), Yt, margin), margin


def test_xgboost_focal_close_to_logistic_and_exact_hessian_stalls():
    """Measured on this set (4000 + 4000 rows, 5 labels at 20% .. 2%, 50 rounds): from the
    label priors, macro AP 0.652 with binary:logistic and 0.635 with the focal loss and its
    "fisher" hessian (margin -0.017); from margins of +4 (negatives confidently wrong)
    logistic 0.625, focal "fisher" 0.626, focal "exact" 0.111: chance level, no tree grows
    (every hessian sum stays below min_child_weight) and the margins stay at 4."""
    xgb = pytest.importorskip("xgboost")
    data = multilabel_data()
    Y = data[1]
    prior = prior_logits(Y)
    ap_logistic, _ = _xgb_fit(xgb, data, None, prior)
    ap_fisher, _ = _xgb_fit(xgb, data, XGBoostObjective("focal"), prior)
    assert ap_logistic > 0.5
    assert ap_fisher > ap_logistic - 0.04  # the margin stated in the README
    bad = np.full(Y.shape[1], 4.0)
    ap_bad_fisher, _ = _xgb_fit(xgb, data, XGBoostObjective("focal", hessian="fisher"), bad)
    ap_bad_exact, margin = _xgb_fit(xgb, data, XGBoostObjective("focal", hessian="exact"), bad)
    assert ap_bad_fisher > ap_logistic - 0.05
    assert ap_bad_exact < 0.2  # chance level: nothing learned
    np.testing.assert_allclose(margin, 4.0)  # stalled: every hessian sum below min_child_weight


@pytest.mark.parametrize("strategy", ["one_output_per_tree", "multi_output_tree"])
def test_xgboost_sklearn_api_and_metric(strategy):
    xgb = pytest.importorskip("xgboost")
    X, Y, Xt, Yt = multilabel_data(n=2000)
    metric = AveragePrecisionMetric()
    obj = XGBoostObjective("bce", w_pos=label_weights(Y, "pos_weight")[0])
    # XGBClassifier keeps binary:logistic as the model's link: base_score is a probability
    clf = xgb.XGBClassifier(objective=obj, n_estimators=20, max_depth=3, tree_method="hist",
                            eval_metric=metric, base_score=label_frequencies(Y)[0].tolist(),
                            multi_strategy=strategy, n_jobs=1)
    w = np.ones(len(X))
    clf.fit(X, Y, sample_weight=w, eval_set=[(Xt, Yt)], verbose=False)
    ap = clf.evals_result()["validation_0"]["aucpr_macro"]
    assert len(ap) == 20 and ap[-1] > 0.4
    margin = clf.get_booster().predict(xgb.DMatrix(Xt), output_margin=True)
    assert ap[-1] == pytest.approx(quiet(metric, Yt, margin))
    # native form of the metric
    name, value = quiet(metric, margin, xgb.DMatrix(Xt, label=Yt))
    assert name == "aucpr_macro" and value == pytest.approx(ap[-1])
    # the objective uses the DMatrix weights: weight 2 everywhere doubles grad and hess
    d = xgb.DMatrix(X[:50], label=Y[:50], weight=np.full(50, 2.0))
    z = np.zeros((50, Y.shape[1]), np.float32)
    g2, h2 = obj(z, d)
    g1, h1 = obj(Y[:50], z)
    np.testing.assert_allclose(g2, 2 * g1)
    np.testing.assert_allclose(h2, 2 * h1)
    assert g1.dtype == np.float32 and g1.shape == z.shape


def test_lightgbm_per_label_equals_num_class_closure():
    lgb = pytest.importorskip("lightgbm")
    X, Y, Xt, Yt = multilabel_data(n=2000, n_labels=3)
    alpha = np.array([0.3, 0.5, 0.7])
    params = {"learning_rate": 0.1, "num_leaves": 8, "verbose": -1, "num_threads": 1,
              "deterministic": True, "force_row_wise": True}
    prior = prior_logits(Y)
    per_label = []
    for j in range(3):
        obj = LightGBMObjective("focal", alpha=alpha, label=j)
        ds = lgb.Dataset(X, label=np.ascontiguousarray(Y[:, j]),
                         init_score=np.full(len(X), prior[j]))
        booster = lgb.train({**params, "objective": obj}, ds, num_boost_round=15)
        per_label.append(booster.predict(Xt, raw_score=True) + prior[j])
    per_label = np.column_stack(per_label)
    obj = LightGBMObjective("focal", alpha=alpha, y=Y)
    ds = lgb.Dataset(X, label=np.zeros(len(X)), init_score=np.tile(prior, (len(X), 1)))
    feval = AveragePrecisionMetric(y=Y)
    booster = lgb.train({**params, "objective": obj, "num_class": 3}, ds, num_boost_round=15,
                        valid_sets=[ds], feval=feval)
    joint = booster.predict(Xt, raw_score=True) + prior
    np.testing.assert_allclose(joint, per_label, rtol=1e-6, atol=1e-6)
    assert quiet(AveragePrecisionMetric(), Yt, joint) > 0.4
    name, value, higher = quiet(feval, booster.predict(X, raw_score=True), ds)
    assert name == "aucpr_macro" and higher is True and 0 < value <= 1
    # scikit-learn wrapper: (y_true, y_pred[, weight]) form, one label
    clf = lgb.LGBMClassifier(objective=LightGBMObjective("bce", w_pos=3.0), n_estimators=10,
                             verbose=-1, n_jobs=1)
    clf.fit(X, np.ascontiguousarray(Y[:, 0]), sample_weight=np.ones(len(X)))
    assert clf.predict(Xt, raw_score=True).shape == (len(Xt),)
    # LightGBM < 4 passes multi-class scores flat, class-major: same gradients
    z = np.random.default_rng(0).standard_normal((len(X), 3))
    g2d, h2d = obj(z, None)
    g1d, h1d = obj(z.T.reshape(-1), None)
    np.testing.assert_allclose(g1d, g2d.T.reshape(-1))
    np.testing.assert_allclose(h1d, h2d.T.reshape(-1))


def test_objective_repr_and_errors():
    assert "focal" in repr(XGBoostObjective())
    assert "w_pos" in repr(LightGBMObjective("bce", w_pos=2.0))
    with pytest.raises(ValueError, match="loss"):
        XGBoostObjective("hinge")
    np.testing.assert_allclose(prior_logits([[1, 0], [0, 0]]), [0.0, np.log(1e-6 / (1 - 1e-6))])


# ------------------------------------------------------- prior_logits validates its input

BAD_LABELS = [
    ("NaN label", [[0.0, np.nan], [1.0, 0.0]]),
    ("label above 1", [[0.0, 1.5], [1.0, 0.0]]),
    ("negative label", [[0.0, -0.1], [1.0, 0.0]]),
    ("inf label", [[0.0, np.inf], [1.0, 0.0]]),
    ("integer 2", [[0, 2], [1, 0]]),
    ("integer -1", [[0, -1], [1, 0]]),
    ("no samples", np.zeros((0, 3))),
    ("3-D", np.zeros((2, 2, 2))),
    ("strings", [["a", "b"]]),
]


@pytest.mark.parametrize("case, Y", BAD_LABELS, ids=[c[0] for c in BAD_LABELS])
def test_prior_logits_rejects_what_label_frequencies_rejects(case, Y):
    with pytest.raises((ValueError, TypeError)) as expected:
        label_frequencies(Y)
    with pytest.raises(expected.type) as got:
        prior_logits(Y)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("eps", [0.7, 0.5, 0.0, -1e-6, np.nan, np.inf, 1.0])
def test_prior_logits_eps_must_lie_in_zero_half(eps):
    with pytest.raises(ValueError, match="eps"):
        prior_logits([[1, 0], [0, 0]], eps=eps)


@pytest.mark.parametrize("eps", ["0.1", None, True, [0.1]])
def test_prior_logits_eps_must_be_a_number(eps):
    with pytest.raises(TypeError, match="eps"):
        prior_logits([[1, 0], [0, 0]], eps=eps)


def test_prior_logits_valid_input():
    rng = np.random.default_rng(3)
    Y = (rng.random((50, 4)) < [0.5, 0.1, 0.0, 1.0]).astype(np.int64)
    for form in (Y, Y.astype(bool), Y.astype(np.float32), Y.tolist()):
        p = np.clip(label_frequencies(form)[0], 1e-3, 1 - 1e-3)
        np.testing.assert_allclose(prior_logits(form, eps=1e-3), np.log(p / (1 - p)),
                                   rtol=1e-12)
    assert np.all(np.isfinite(prior_logits(Y, eps=np.float32(0.25))))
    np.testing.assert_allclose(prior_logits([[0.25], [0.75]]), [0.0])  # soft labels
    np.testing.assert_allclose(prior_logits(Y[:, 0]), prior_logits(Y[:, :1]))


# ------------------------------------------- early stopping keeps the best average precision


def rising_ap_data(n=1500, n_labels=3, seed=0):
    """Labels from an interaction model, so that boosting's validation AP climbs for tens of
    rounds from a low start (measured: macro AP about 0.24 after one round, 0.35+ later)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3 * n_labels + 1))
    k = n_labels
    logit = 1.5 * X[:, :k] + X[:, k : 2 * k] * X[:, 2 * k : 3 * k] - 2.5
    Y = (rng.random((n, k)) < expit(logit)).astype(np.float32)
    h = 2 * n // 3
    return X[:h], Y[:h], X[h:], Y[h:]


def _check_best_round(history, best_iteration, metric_name):
    ap = np.asarray(history[metric_name])
    assert list(history)[-1] == metric_name  # early stopping follows the last metric
    assert best_iteration == int(np.argmax(ap))  # the first round with the best AP
    assert best_iteration > 0 and ap[best_iteration] > ap[0] + 0.05
    return ap


XGB_PARAMS = {"tree_method": "hist", "max_depth": 3, "eta": 0.1, "nthread": 1}


@pytest.mark.parametrize("maximize", [None, True])
@pytest.mark.parametrize("disable_default", [False, True])
def test_xgboost_train_early_stopping_keeps_best_ap(maximize, disable_default):
    """The README pairing: xgb.train with XGBoostObjective and AveragePrecisionMetric keeps
    the round with the best AP, with or without maximize=True and XGBoost's default metric
    (rmse of the margins: minimised, it must not decide)."""
    xgb = pytest.importorskip("xgboost")
    X, Y, Xv, Yv = rising_ap_data()
    params = {**XGB_PARAMS, "num_target": Y.shape[1], "multi_strategy": "one_output_per_tree",
              "base_score": prior_logits(Y).tolist()}
    if disable_default:
        params["disable_default_eval_metric"] = True
    dtrain, dvalid = xgb.DMatrix(X, label=Y), xgb.DMatrix(Xv, label=Yv)
    log = {}
    kwargs = {} if maximize is None else {"maximize": maximize}
    metric = AveragePrecisionMetric()
    booster = xgb.train(params, dtrain, 150, obj=XGBoostObjective("focal"),
                        evals=[(dvalid, "valid")], custom_metric=metric,
                        early_stopping_rounds=25, evals_result=log, verbose_eval=False,
                        **kwargs)
    ap = _check_best_round(log["valid"], booster.best_iteration, "aucpr_macro")
    assert list(log["valid"]) == (["aucpr_macro"] if disable_default else ["rmse", "aucpr_macro"])
    margin = booster.predict(dvalid, iteration_range=(0, booster.best_iteration + 1))
    assert quiet(metric, Yv, margin) == pytest.approx(ap[booster.best_iteration], abs=1e-6)


@pytest.mark.parametrize("disable_default", [False, True])
def test_xgboost_classifier_early_stopping_keeps_best_ap(disable_default):
    """XGBClassifier has no maximize=: the metric's name must carry the direction."""
    xgb = pytest.importorskip("xgboost")
    X, Y, Xv, Yv = rising_ap_data()
    kwargs = {"disable_default_eval_metric": True} if disable_default else {}
    clf = xgb.XGBClassifier(objective=XGBoostObjective("focal"),
                            eval_metric=AveragePrecisionMetric(), early_stopping_rounds=25,
                            n_estimators=150, max_depth=3, learning_rate=0.1,
                            tree_method="hist", n_jobs=1,
                            base_score=label_frequencies(Y)[0].tolist(), **kwargs)
    clf.fit(X, Y, eval_set=[(Xv, Yv)], verbose=False)
    history = clf.evals_result()["validation_0"]
    ap = _check_best_round(history, clf.best_iteration, "aucpr_macro")
    assert list(history) == (["aucpr_macro"] if disable_default else ["logloss", "aucpr_macro"])
    # predictions come from the best round
    booster = clf.get_booster()
    margin = booster.predict(xgb.DMatrix(Xv), output_margin=True,
                             iteration_range=(0, clf.best_iteration + 1))
    assert quiet(AveragePrecisionMetric(), Yv, margin) == pytest.approx(
        ap[clf.best_iteration], abs=1e-6
    )
    proba = clf.predict_proba(Xv)
    assert quiet(AveragePrecisionMetric(), Yv, proba) == pytest.approx(
        ap[clf.best_iteration], abs=1e-6
    )


def test_xgboost_classifier_weighted_eval_set():
    """With weights on the evaluation set the wrapper passes sample_weight=..."""
    xgb = pytest.importorskip("xgboost")
    X, Y, Xv, Yv = rising_ap_data(n=600)
    wv = (np.random.default_rng(1).random(len(Xv)) + 0.5).astype(np.float32)  # as a DMatrix
    clf = xgb.XGBClassifier(objective=XGBoostObjective("bce"),
                            eval_metric=AveragePrecisionMetric(), n_estimators=5,
                            max_depth=2, tree_method="hist", n_jobs=1)
    clf.fit(X, Y, eval_set=[(Xv, Yv)], sample_weight_eval_set=[wv], verbose=False)
    ap = clf.evals_result()["validation_0"]["aucpr_macro"]
    margin = clf.get_booster().predict(xgb.DMatrix(Xv), output_margin=True)
    from fastml.metrics import average_precision_score

    expected = average_precision_score(Yv, margin, sample_weight=wv)
    assert ap[-1] == pytest.approx(expected, abs=1e-6)  # the log keeps 6 digits
    assert ap[-1] != pytest.approx(average_precision_score(Yv, margin), rel=1e-9)
    # the native form reads the DMatrix weights the same way
    name, value = AveragePrecisionMetric()(margin, xgb.DMatrix(Xv, label=Yv, weight=wv))
    assert name == "aucpr_macro" and value == pytest.approx(expected, rel=1e-12)


def test_lightgbm_early_stopping_keeps_best_ap():
    lgb = pytest.importorskip("lightgbm")
    X, Y, Xv, Yv = rising_ap_data()
    prior = prior_logits(Y)
    params = {"objective": LightGBMObjective("focal", y=Y), "num_class": Y.shape[1],
              "learning_rate": 0.1, "num_leaves": 7, "verbose": -1, "num_threads": 1,
              "deterministic": True, "force_row_wise": True}
    train = lgb.Dataset(X, label=np.zeros(len(X)), init_score=np.tile(prior, (len(X), 1)))
    valid = lgb.Dataset(Xv, label=np.zeros(len(Xv)), init_score=np.tile(prior, (len(Xv), 1)),
                        reference=train)
    log = {}
    booster = lgb.train(params, train, 150, valid_sets=[valid],
                        feval=AveragePrecisionMetric(y=Yv),
                        callbacks=[lgb.early_stopping(25, verbose=False),
                                   lgb.record_evaluation(log)])
    ap = np.asarray(log["valid_0"]["aucpr_macro"])
    assert booster.best_iteration == int(np.argmax(ap)) + 1  # LightGBM counts from 1
    assert booster.best_iteration > 1 and ap.max() > ap[0] + 0.05


def test_lightgbm_dataset_subclass_gets_higher_is_better():
    lgb = pytest.importorskip("lightgbm")

    class MyDataset(lgb.Dataset):
        pass

    X, Y, _, _ = rising_ap_data(n=300)
    ds = MyDataset(X, label=np.ascontiguousarray(Y[:, 0])).construct()
    name, value, higher = quiet(AveragePrecisionMetric(), np.linspace(0, 1, len(X)), ds)
    assert name == "aucpr_macro" and higher is True and 0 < value <= 1


def test_average_precision_metric_names_and_options():
    assert AveragePrecisionMetric("micro").__name__ == "aucpr_micro"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("aucpr_mine", "auc", "map_val", "ndcg_x", "pre_ap"):
            assert AveragePrecisionMetric(name=name).__name__ == name
    for name in ("ap", "my_ap", "mape"):
        with pytest.warns(UserWarning, match="minimises"):
            AveragePrecisionMetric(name=name)
    for average in (None, "binary", "foo"):
        with pytest.raises(ValueError, match="average"):
            AveragePrecisionMetric(average)


# ------------------------------------------------------- nullable frames and tensors


def test_nullable_frames_and_tensors_are_accepted(tensor_like):
    import pandas as pd

    rng = np.random.default_rng(8)
    y = (rng.random((30, 3)) < 0.4).astype(np.int64)
    z = rng.normal(size=(30, 3))
    want = weighted_bce(y, z, w_pos=[1.0, 2.0, 3.0])
    for frame in (pd.DataFrame(y).astype("Int64"), pd.DataFrame(y.astype(bool)).astype("boolean")):
        assert weighted_bce(frame, z, w_pos=[1.0, 2.0, 3.0]) == want
        assert focal_loss(frame, z) == focal_loss(y, z)
        np.testing.assert_array_equal(label_weights(frame)[0], label_weights(y)[0])
        np.testing.assert_array_equal(label_frequencies(frame)[0], label_frequencies(y)[0])
    assert weighted_bce(tensor_like(y), tensor_like(z), w_pos=[1.0, 2.0, 3.0]) == want
    assert weighted_bce(y.astype(">i8"), z.astype(">f8"), w_pos=[1.0, 2.0, 3.0]) == want
    missing = pd.DataFrame(y).astype("Int64")
    missing.iloc[0, 0] = pd.NA
    with pytest.raises(ValueError, match="missing values"):
        weighted_bce(missing, z)


# --------------------------------------------- LightGBM: several data sets, probabilities


def _lgb_num_class(lgb, X, Y):
    params = {"objective": LightGBMObjective("bce", y=Y), "num_class": Y.shape[1],
              "num_leaves": 7, "verbose": -1, "num_threads": 1, "deterministic": True,
              "force_row_wise": True}
    return params, lgb.Dataset(X, label=np.zeros(len(X)))


def test_lightgbm_metric_labels_for_every_valid_set():
    lgb = pytest.importorskip("lightgbm")
    from fastml.metrics import average_precision_score

    X, Y, Xv, Yv = rising_ap_data(n=600)
    params, train = _lgb_num_class(lgb, X, Y)
    valid = lgb.Dataset(Xv, label=np.zeros(len(Xv)), reference=train)
    logs = []
    for y in ({train: Y, valid: Yv}, [Y, Yv], (Yv, Y)):
        log = {}
        booster = lgb.train(params, train, 4, valid_sets=[train, valid],
                            valid_names=["train", "valid"], feval=AveragePrecisionMetric(y=y),
                            callbacks=[lgb.record_evaluation(log)])
        for data, labels, key in ((X, Y, "train"), (Xv, Yv, "valid")):
            want = average_precision_score(labels, booster.predict(data, raw_score=True))
            assert log[key]["aucpr_macro"][-1] == pytest.approx(want, rel=1e-12)
        logs.append(log)
    assert logs[0] == logs[1] == logs[2]
    # one matrix for two data sets of other sizes: a clear error naming the shapes
    with pytest.raises(ValueError, match=r"\(200, 3\).*400 rows.*valid_sets"):
        lgb.train(params, train, 2, valid_sets=[train, valid],
                  feval=AveragePrecisionMetric(y=Yv))
    other = lgb.Dataset(Xv[:50], label=np.zeros(50), reference=train)
    with pytest.raises(ValueError, match="not for the one being evaluated"):
        lgb.train(params, train, 2, valid_sets=[other], feval=AveragePrecisionMetric(y={train: Y}))
    with pytest.raises(ValueError, match="key them by data set"):
        lgb.train(params, train, 2, valid_sets=[valid],
                  feval=AveragePrecisionMetric(y=[Yv, 1 - Yv]))


def test_lightgbm_sklearn_eval_metric_gets_a_triple():
    lgb = pytest.importorskip("lightgbm")
    from fastml.metrics import average_precision_score

    X, Y, Xv, Yv = rising_ap_data(n=600)
    y, yv = np.ascontiguousarray(Y[:, 0]), np.ascontiguousarray(Yv[:, 0])
    clf = lgb.LGBMClassifier(n_estimators=4, num_leaves=7, verbose=-1, n_jobs=1)
    if "eval_X" in inspect.signature(clf.fit).parameters:  # LightGBM >= 4.6 names them so
        held_out = {"eval_X": (Xv,), "eval_y": (yv,)}
    else:
        held_out = {"eval_set": [(Xv, yv)]}
    clf.fit(X, y, eval_metric=AveragePrecisionMetric(), **held_out)
    got = clf.evals_result_["valid_0"]["aucpr_macro"]
    assert len(got) == 4
    want = average_precision_score(Yv[:, 0], clf.predict_proba(Xv)[:, 1])
    assert got[-1] == pytest.approx(want, rel=1e-12)
    # called directly, as XGBoost's wrapper calls it, the value alone
    assert AveragePrecisionMetric()(Yv[:, 0], Xv[:, 0]) == average_precision_score(
        Yv[:, 0], Xv[:, 0]
    )


def test_sigmoid_classifier_gives_probabilities_of_custom_objectives():
    lgb = pytest.importorskip("lightgbm")
    from sklearn.multioutput import MultiOutputClassifier

    from fastml.losses import SigmoidClassifier

    X, Y, Xv, _ = rising_ap_data(n=600)
    base = lgb.LGBMClassifier(objective=LightGBMObjective("focal"), n_estimators=5,
                              num_leaves=7, verbose=-1, n_jobs=1)
    model = MultiOutputClassifier(SigmoidClassifier(base)).fit(X, Y)
    proba = model.predict_proba(Xv)
    assert len(proba) == Y.shape[1]
    for j, (p, est) in enumerate(zip(proba, model.estimators_, strict=True)):
        margin = est.estimator_.booster_.predict(Xv, raw_score=True)
        np.testing.assert_allclose(p[:, 1], expit(margin), rtol=1e-12)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
        assert ((p >= 0) & (p <= 1)).all()
        np.testing.assert_array_equal(model.predict(Xv)[:, j], (margin > 0).astype(Y.dtype))
    xgb = pytest.importorskip("xgboost")
    clf = SigmoidClassifier(xgb.XGBClassifier(objective=XGBoostObjective("bce"), n_estimators=3,
                                              tree_method="hist", n_jobs=1)).fit(X, Y[:, 0])
    margin = clf.estimator_.predict(Xv, output_margin=True)
    np.testing.assert_allclose(clf.predict_proba(Xv)[:, 1], expit(margin.astype(np.float64)),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="binary"):
        SigmoidClassifier(lgb.LGBMClassifier(verbose=-1)).fit(X, np.arange(len(X)) % 3)


def test_objective_shape_errors_name_the_shapes():
    z = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4, 2\)"):
        XGBoostObjective()(np.ones((3, 2)), z)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4, 2\)"):
        LightGBMObjective(y=np.ones((3, 2)))(z, None)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4, 2\)"):
        AveragePrecisionMetric()(np.ones((3, 2)), z)


# ------------------------------------------------ torch: labels on the last axis


def test_label_axis_shape_of_one_dimensional_logits():
    from fastml.losses._core import _label_axis_shape

    w = np.array([1.0, 2.0, 3.0])
    assert _label_axis_shape((3,), w) == (1, 3)  # one row of three labels
    assert _label_axis_shape((3,), None, [1.0, 2.0, 3.0]) == (1, 3)
    assert _label_axis_shape((3,), 2.0, None) == (3,)  # scalars: entries either way
    assert _label_axis_shape((3,), np.array(2.0)) == (3,)
    assert _label_axis_shape((1,), np.array([2.0])) == (1,)
    assert _label_axis_shape((4, 3), w) == (4, 3)
    assert _label_axis_shape((2, 4, 3), w) == (2, 4, 3)
    assert _label_axis_shape((5,), w) == (5,)  # not per-label: the kernels' error names it
    # seen as one row, per-label weights are what torch's broadcasting computes
    y, z = np.array([1.0, 0.0, 1.0]), np.array([0.3, -1.2, 2.0])
    want = np.mean(w * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
    assert weighted_bce(y.reshape(1, 3), z.reshape(1, 3), w_pos=w) == pytest.approx(want)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_one_dimensional_logits_with_per_label_weights(torch, reduction):
    from fastml.losses.torch import sigmoid_focal_loss, weighted_bce_with_logits

    z = torch.tensor([0.3, -1.2, 2.0, 0.7], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    pw = torch.tensor([1.0, 2.0, 3.0, 0.5], dtype=torch.float64)
    got = weighted_bce_with_logits(z, y, w_pos=pw, reduction=reduction)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(z, y, pos_weight=pw,
                                                               reduction=reduction)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    alpha = [0.25, 0.5, 0.75, 0.1]
    out = sigmoid_focal_loss(z, y, alpha=alpha, reduction=reduction)
    p = torch.sigmoid(z)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")
    a = torch.tensor(alpha, dtype=torch.float64)
    loss = (a * y + (1 - a) * (1 - y)) * ce * ((1 - (p * y + (1 - p) * (1 - y))) ** 2)
    want = {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]
    assert out.shape == want.shape
    torch.testing.assert_close(out, want, rtol=1e-10, atol=1e-12)
