"""GPU losses (fastml.kernels.gpu.losses and fastml.losses._gpu) against the CPU kernels and
the public CPU functions: random and edge-case inputs, float32 and float64."""

import numpy as np
import pytest
from _gpu_support import XP, KernelSpy, cudasim, dev, host, is_device, tiny_launch

from fastml.losses import focal_loss, weighted_bce

pytestmark = cudasim


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def _close(got, want, dtype):
    if isinstance(want, float):
        assert isinstance(got, float)
        np.testing.assert_allclose(got, want, **_tol(dtype))
        return
    got = host(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **_tol(dtype))


def _data(rng, shape, dtype, soft=False, extreme=False):
    z = rng.normal(0, 3, shape).astype(dtype)
    if extreme:
        z.flat[::3] = rng.choice([-80.0, -30.0, 30.0, 80.0], z.flat[::3].shape)
    y = rng.random(shape).astype(dtype) if soft else (rng.random(shape) < 0.3).astype(np.int64)
    return y, z


def _gpu():
    from fastml.losses import _gpu

    return _gpu


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (40,), (3, 2, 4), (1, 9)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_bce_matches_cpu(dtype, shape, reduction):
    rng = np.random.default_rng(hash((shape, reduction)) % 2**32)
    y, z = _data(rng, shape, dtype, extreme=True)
    k = shape[-1] if len(shape) >= 2 else 1
    w_pos, w_neg = rng.random(k) * 3, rng.random(k)
    sw = rng.random(shape[0]) if len(shape) == 2 else None
    want = weighted_bce(y, z, w_pos, w_neg, reduction=reduction, sample_weight=sw,
                        return_grad=True, return_hess=True)
    with tiny_launch():
        got = _gpu().weighted_bce(dev(y), dev(z), w_pos, w_neg, reduction, dev(sw), True,
                                  True, True, xp=XP)
    for g, w in zip(got, want, strict=True):
        _close(g, w, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gamma", [0.0, 1.5, 2.0])
@pytest.mark.parametrize("hessian", ["exact", "clip", "abs", "fisher"])
def test_focal_matches_cpu(dtype, gamma, hessian):
    rng = np.random.default_rng(int(gamma * 10) + len(hessian))
    y, z = _data(rng, (9, 4), dtype, extreme=True)
    alpha = np.array([0.25, -1.0, 0.9, 0.5])
    want = focal_loss(y, z, alpha=alpha, gamma=gamma, hessian=hessian, reduction="none",
                      return_grad=True, return_hess=True)
    with tiny_launch():
        got = _gpu().focal_loss(dev(y), dev(z), alpha, gamma, "none", hessian, 1e-6, None,
                                True, True, True, xp=XP)
    for g, w in zip(got, want, strict=True):
        _close(g, w, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_soft_labels_probabilities_and_fortran_order(dtype):
    rng = np.random.default_rng(3)
    y, _ = _data(rng, (11, 3), dtype, soft=True)
    p = rng.random((11, 3)).astype(dtype)
    p[0, 0], p[1, 1], p[2, 2] = 0.0, 1.0, 1e-30
    for fn in ("weighted_bce", "focal_loss"):
        cpu = {"weighted_bce": weighted_bce, "focal_loss": focal_loss}[fn]
        for yy, pp in ((y, p), (np.asfortranarray(y), np.asfortranarray(p))):
            want = cpu(yy, pp, from_logits=False, reduction="none", return_grad=True,
                       return_hess=True)
            args = ((None, None) if fn == "weighted_bce" else (0.25, 2.0))
            extra = () if fn == "weighted_bce" else ("exact", 1e-6)
            with tiny_launch():
                got = getattr(_gpu(), fn)(dev(yy), dev(pp), *args, "none", *extra, None,
                                          False, True, True, xp=XP)
            for g, w in zip(got, want, strict=True):
                _close(g, w, dtype)
            assert host(got[0]).flags.f_contiguous == want[0].flags.f_contiguous


def test_public_functions_route_device_input_to_the_gpu(monkeypatch):
    """weighted_bce / focal_loss / XGBoostObjective with device arrays: GPU kernels, device
    arrays back (Python floats for "mean" / "sum"), same numbers as the CPU."""
    from fastml.losses import XGBoostObjective

    spy = KernelSpy(monkeypatch, "losses", ["weighted_bce", "focal"])
    rng = np.random.default_rng(5)
    y, z = _data(rng, (6, 3), np.float32)
    with tiny_launch():
        loss, grad = weighted_bce(dev(y), dev(z), w_pos=[1.0, 2.0, 3.0], return_grad=True)
        none = focal_loss(dev(y), dev(z), reduction="none")
        g, h = XGBoostObjective("focal")(dev(z), _FakeDMatrix(y))
    assert spy.calls == ["weighted_bce", "focal", "focal"]
    assert isinstance(loss, float) and is_device(grad) and is_device(none)
    assert is_device(g) and is_device(h)
    want = weighted_bce(y, z, w_pos=[1.0, 2.0, 3.0], return_grad=True)
    _close(loss, want[0], np.float32)
    _close(grad, want[1], np.float32)
    _close(none, focal_loss(y, z, reduction="none"), np.float32)
    wg, wh = XGBoostObjective("focal")(z, _FakeDMatrix(y))
    _close(g, wg, np.float32)
    _close(h, wh, np.float32)


def test_bool_labels_and_int_logits():
    y = np.array([[True, False], [False, True], [True, True]])
    z = np.array([[3, -2], [0, 5], [-7, 1]])
    want = weighted_bce(y, z, reduction="sum", return_grad=True)
    with tiny_launch():
        got = _gpu().weighted_bce(dev(y), dev(z), None, None, "sum", None, True, True, False,
                                  xp=XP)
    _close(got[0], want[0], np.float64)
    _close(got[1], want[1], np.float64)


def test_kernel_twin_same_contract_as_cpu_kernel():
    """The GPU kernel module has the CPU kernel's names and signatures, and its results."""
    import inspect

    from _gpu_support import cpu_kernels

    from fastml._backend import CUPY, kernels

    gpu, cpu = kernels("losses", CUPY), cpu_kernels("losses")
    for name in ("weighted_bce", "focal"):
        assert (inspect.signature(getattr(gpu, name)).parameters.keys()
                == inspect.signature(getattr(cpu, name)).parameters.keys())
    rng = np.random.default_rng(0)
    z = rng.normal(size=30)
    y = (rng.random(30) < 0.4).astype(np.uint8)
    wr, wc = np.ones(1), rng.random(5)
    outs_c = [np.empty(30) for _ in range(3)]
    outs_g = [dev(np.empty(30)) for _ in range(3)]
    want = cpu.weighted_bce(z, y, wr, wc, wr, wc, True, 6, 5, True, *outs_c, 0.5)
    with tiny_launch():
        got = gpu.weighted_bce(dev(z), dev(y), dev(wr), dev(wc), dev(wr), dev(wc), True, 6,
                               5, True, *outs_g, 0.5)
    assert got[1:] == want[1:]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    for g, w in zip(outs_g, outs_c, strict=True):
        np.testing.assert_allclose(host(g), w, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("launch", [(1, 1), (2, 32), (3, 7)])
def test_any_launch_size_same_result(launch):
    from fastml.kernels.gpu._launch import launch_size

    rng = np.random.default_rng(1)
    y, z = _data(rng, (13, 3), np.float64)
    want = focal_loss(y, z, reduction="sum", return_grad=True)
    with launch_size(*launch):
        got = _gpu().focal_loss(dev(y), dev(z), 0.25, 2.0, "sum", "exact", 1e-6, None, True,
                                True, False, xp=XP)
    _close(got[0], want[0], np.float64)
    _close(got[1], want[1], np.float64)


def test_bad_input_raises_like_cpu():
    gpu = _gpu()
    z = np.array([[0.5, np.nan], [1.0, 2.0]])
    y = np.array([[1, 0], [0, 1]])
    with tiny_launch():
        with pytest.raises(ValueError, match="found 1 NaN or infinite logits"):
            gpu.weighted_bce(dev(y), dev(z), None, None, "mean", None, True, False, False,
                             xp=XP)
        with pytest.raises(ValueError, match="outside"):
            gpu.weighted_bce(dev(np.array([[0.5, 2.0]])), dev(np.zeros((1, 2))), None, None,
                             "mean", None, True, False, False, xp=XP)
        with pytest.raises(ValueError, match="integer labels"):
            gpu.weighted_bce(dev(np.array([[3, 0]])), dev(np.zeros((1, 2))), None, None,
                             "mean", None, True, False, False, xp=XP)
        with pytest.raises(ValueError, match="same shape"):
            gpu.focal_loss(dev(y), dev(np.zeros((2, 3))), 0.25, 2.0, "mean", "exact", 1e-6,
                           None, True, False, False, xp=XP)
        with pytest.raises(ValueError, match="empty input"):
            gpu.weighted_bce(dev(np.zeros((0, 2))), dev(np.zeros((0, 2))), None, None,
                             "mean", None, True, False, False, xp=XP)
        with pytest.raises(ValueError, match="reduction"):
            gpu.weighted_bce(dev(y), dev(z), None, None, "avg", None, True, False, False,
                             xp=XP)
        assert gpu.weighted_bce(dev(np.zeros((0, 2))), dev(np.zeros((0, 2))), None, None,
                                "sum", None, True, False, False, xp=XP) == 0.0


@pytest.mark.gpu
def test_public_functions_take_cupy_and_return_cupy():
    import cupy

    from fastml.losses import XGBoostObjective

    rng = np.random.default_rng(2)
    y, z = _data(rng, (50, 4), np.float32)
    loss, grad = weighted_bce(cupy.asarray(y), cupy.asarray(z), reduction="mean",
                              return_grad=True)
    assert isinstance(loss, float) and isinstance(grad, cupy.ndarray)
    want = weighted_bce(y, z, return_grad=True)
    _close(loss, want[0], np.float32)
    _close(grad, want[1], np.float32)
    out = focal_loss(cupy.asarray(y), cupy.asarray(z), reduction="none")
    assert isinstance(out, cupy.ndarray)
    g, h = XGBoostObjective("focal")(cupy.asarray(z), _FakeDMatrix(y))
    assert isinstance(g, cupy.ndarray) and isinstance(h, cupy.ndarray)
    wg, wh = XGBoostObjective("focal")(z, _FakeDMatrix(y))
    _close(g, wg, np.float32)
    _close(h, wh, np.float32)


class _FakeDMatrix:
    def __init__(self, y):
        self._y = y

    def get_label(self):
        return self._y.reshape(-1).astype(np.float32)

    def get_weight(self):
        return np.empty(0, np.float32)
