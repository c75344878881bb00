"""Benchmarks of ``fastml.losses``: value + gradient + hessian in one fused pass.

Run with ``benches/run.py`` (see its docstring). Cases, each two entries (reference, fastml)
on the same inputs, float32 and float64:

- ``weighted_bce`` / ``focal_loss`` (mean loss, gradient and exact hessian w.r.t. the logits)
  against a straightforward NumPy implementation of the same stable formulas (``logaddexp``,
  ``scipy.special.expit``, one array operation at a time).
- The torch forms (``fastml.losses.torch``: forward and backward through autograd) against
  torch's ``binary_cross_entropy_with_logits(pos_weight=...)`` and torchvision's
  ``sigmoid_focal_loss`` formula written in torch operations (torchvision itself has no CPU
  wheel here), forward + backward on CPU tensors, torch on its default threads. Skipped, with
  a row saying so, when torch is not installed.
- Bandwidth: the kernel (``fastml.kernels.cpu.losses``, outputs preallocated: reads logits
  and labels, writes gradient and hessian, sums the loss) against ``np.copyto`` of two arrays
  of the same size (the same bytes read and written). Here speedup = copy time / kernel
  time, i.e. the share of the machine's streaming (copy) bandwidth the kernel reaches.

Every fastml entry's check column gives its effective bandwidth: bytes of the inputs read and
of the outputs written (loss, gradient, hessian) over its median time. Results are compared
outside the timing (float64: rtol 1e-6; float32: rtol 1e-4; each with an absolute tolerance
of the same size times the largest value), since the pair's own check asks for 1e-9.

Inputs: labels of the logits' dtype, every label 5% positive; logits = 2 y - 1 + 2 N(0, 1);
per-label ``w_pos`` = torch's ``pos_weight`` = n_neg / n_pos, ``w_neg`` = 1 (torch's
convention), focal ``alpha=0.25, gamma=2``. Fixed seeds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pytest

import fastml.losses
import fastml.slow.losses as slow
from fastml.kernels.cpu import losses as loss_kernels

pytestmark = pytest.mark.filterwarnings("ignore")

try:
    import torch
except ImportError:  # the torch cases then report "torch not installed"
    torch = None


@dataclass(frozen=True)
class LossShape:
    rows: int
    labels: int
    dtype: str = "float64"

    @property
    def id(self) -> str:
        return f"{self.rows}x{self.labels}-{self.dtype}"

    @property
    def text(self) -> str:
        return f"{self.rows:,} x {self.labels}"

    @property
    def prevalence(self) -> str:  # the runner's third column: dtype and positive rate
        return f"{self.dtype}, 5%"


CASES = {
    "bce-numpy": "weighted_bce loss+grad+hess vs NumPy (same formulas)",
    "focal-numpy": "focal_loss loss+grad+hess vs NumPy (same formulas)",
    "bce-torch": "weighted BCE forward+backward vs torch BCEWithLogits(pos_weight)",
    "focal-torch": "focal loss forward+backward vs torchvision formula in torch",
    "bce-copy": "weighted_bce kernel vs copy of the same bytes (speedup = share of copy "
    "bandwidth)",
    "focal-copy": "focal kernel vs copy of the same bytes (speedup = share of copy bandwidth)",
}


def _shapes(*dims):
    return [LossShape(n, k, dt) for n, k in dims for dt in ("float32", "float64")]


# The references take 1-10 s per call at 10^7 elements; 100,000 x 500 (5 * 10^7 elements,
# about 2.5 minutes for all cases) is in the full set only.
SHAPES = {
    "tiny": _shapes((20_000, 20), (2_000, 500)),
    "default": _shapes((1_000_000, 20), (10_000, 500)),
    "full": _shapes((1_000_000, 20), (100_000, 500)),
}


def pytest_generate_tests(metafunc):
    shapes = SHAPES[metafunc.config.getoption("sizes")]
    metafunc.parametrize(
        ("case", "shape", "impl"),
        [
            pytest.param(case, shape, impl, id=f"{case}-{shape.id}-{impl}")
            for case in CASES
            for shape in shapes
            for impl in ("reference", "fastml")
        ],
    )


@functools.lru_cache(maxsize=1)
def _base(rows: int, labels: int):
    rng = np.random.default_rng([rows, labels])
    y = (rng.random((rows, labels)) < 0.05).astype(np.float64)
    y[0] = 1.0  # every label has a positive
    z = rng.standard_normal((rows, labels))
    z *= 2.0
    z += 2.0 * y - 1.0
    pos = y.sum(axis=0)
    return y, z, (rows - pos) / pos


@functools.lru_cache(maxsize=1)
def inputs(shape: LossShape):
    y, z, pos_weight = _base(shape.rows, shape.labels)
    return y.astype(shape.dtype), z.astype(shape.dtype), pos_weight


# ------------------------------------------------------------------- NumPy references


def numpy_bce(y, z, w_pos):
    """Mean weighted BCE, its gradient and hessian w.r.t. z (the slow twin, in z's dtype)."""
    loss, grad, hess = slow.weighted_bce(y, z, w_pos)
    return loss.mean(dtype=np.float64), grad, hess


def numpy_focal(y, z, alpha=0.25, gamma=2.0):
    """Mean focal loss (torchvision's formula), its gradient and exact hessian w.r.t. z."""
    loss, grad, hess, _ = slow.focal(y, z, alpha, gamma)
    return loss.mean(dtype=np.float64), grad, hess


# ------------------------------------------------------------------- torch references


def torch_bce(z, y, pos_weight):
    zt = torch.from_numpy(z).requires_grad_()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        zt, torch.from_numpy(y), pos_weight=torch.from_numpy(pos_weight.astype(z.dtype))
    )
    loss.backward()
    return loss.item(), zt.grad


def torch_focal(z, y, alpha=0.25, gamma=2.0):
    zt = torch.from_numpy(z).requires_grad_()
    yt = torch.from_numpy(y)
    p = torch.sigmoid(zt)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(zt, yt, reduction="none")
    p_t = p * yt + (1 - p) * (1 - yt)
    loss = ce * ((1 - p_t) ** gamma)
    loss = (alpha * yt + (1 - alpha) * (1 - yt)) * loss
    loss = loss.mean()
    loss.backward()
    return loss.item(), zt.grad


def fastml_torch_bce(z, y, pos_weight):
    from fastml.losses.torch import weighted_bce_with_logits

    zt = torch.from_numpy(z).requires_grad_()
    loss = weighted_bce_with_logits(zt, torch.from_numpy(y), w_pos=pos_weight)
    loss.backward()
    return loss.item(), zt.grad


def fastml_torch_focal(z, y):
    from fastml.losses.torch import sigmoid_focal_loss

    zt = torch.from_numpy(z).requires_grad_()
    loss = sigmoid_focal_loss(zt, torch.from_numpy(y), reduction="mean")
    loss.backward()
    return loss.item(), zt.grad


# --------------------------------------------------------------------------- cases


def _kernel_call(case, z, y, pos_weight, grad, hess):
    """The bare kernel on preallocated outputs (what the bandwidth case times)."""
    n, k = z.shape
    ones = np.ones(1)
    empty = np.empty(0, z.dtype)
    zf, yf, gf, hf = z.reshape(-1), y.reshape(-1), grad.reshape(-1), hess.reshape(-1)
    if case == "bce-copy":
        return loss_kernels.weighted_bce(
            zf, yf, ones, pos_weight.astype(z.dtype), ones, np.ones(k, z.dtype), True, n, k,
            True, empty, gf, hf, 1.0,
        )
    alpha = np.full(k, 0.25, z.dtype)
    return loss_kernels.focal(
        zf, yf, ones, alpha, ones, 1 - alpha, True, n, k, True, 2.0, loss_kernels.H_EXACT, 0.0,
        empty, gf, hf, 1.0,
    )


def _functions(case, shape, store):
    """(reference, fastml) callables for ``case``; each stores its result in ``store``."""
    y, z, pos_weight = inputs(shape)

    def keep(f):
        def run(*args):
            store[:] = [f(*args)]

        return run

    if case == "bce-numpy":
        return keep(numpy_bce), keep(
            lambda y, z, w: fastml.losses.weighted_bce(y, z, w, return_grad=True,
                                                       return_hess=True)
        )
    if case == "focal-numpy":
        return keep(lambda y, z, w: numpy_focal(y, z)), keep(
            lambda y, z, w: fastml.losses.focal_loss(y, z, return_grad=True, return_hess=True)
        )
    if case == "bce-torch":
        return keep(lambda y, z, w: torch_bce(z, y, w)), keep(
            lambda y, z, w: fastml_torch_bce(z, y, w)
        )
    if case == "focal-torch":
        return keep(lambda y, z, w: torch_focal(z, y)), keep(
            lambda y, z, w: fastml_torch_focal(z, y)
        )
    # bandwidth cases: outputs preallocated (and touched) once, outside the timing
    out1, out2 = np.ones_like(z), np.ones_like(z)

    def copy(y, z, w):
        np.copyto(out1, z)
        np.copyto(out2, y)

    def kernel(y, z, w):
        _kernel_call(case, z, y, w, out1, out2)

    return copy, kernel


def _bytes_moved(case: str, z: np.ndarray) -> int:
    """Bytes the fastml entry reads and writes: logits, labels, and its outputs."""
    outputs = {"bce-numpy": 2, "focal-numpy": 2, "bce-torch": 1, "focal-torch": 1}.get(case, 2)
    return (2 + outputs) * z.nbytes


def _agree(got, want, dtype) -> bool:
    rtol = 1e-6 if dtype == "float64" else 1e-4
    for g, w in zip(got, want, strict=True):
        g = np.asarray(g, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        if g.shape != w.shape or not np.allclose(g, w, rtol=rtol, atol=rtol * np.abs(w).max()):
            return False
    return True


_seen: dict = {}  # (case, shape id) -> reference result (or copy time), for the fastml check


def test_loss(timed, benchmark, case, shape, impl):
    label = CASES[case]
    if case.endswith("-torch") and torch is None:
        if impl == "fastml":
            pytest.skip("torch not installed")
        label += ": torch not installed, not measured"
        timed(impl, lambda: None, (), (), 1, case=label, shape=shape)
        benchmark.extra_info["check"] = "torch not installed"
        return
    y, z, pos_weight = inputs(shape)
    store: list = []
    reference, fast = _functions(case, shape, store)
    fn = fast if impl == "fastml" else reference
    m = max(1, shape.rows // 100)  # rows of the warm-up probe
    probe = (y[:m], z[:m], pos_weight)
    if case.endswith("-copy"):  # the probe must not write past the preallocated outputs
        probe = (y, z, pos_weight)
    timed(impl, fn, (y, z, pos_weight), probe, 1 if case.endswith("-copy") else shape.rows / m,
          case=label, shape=shape)
    key = (case, shape.id)
    median = benchmark.stats.stats.median
    if impl == "reference":
        _seen[key] = median if case.endswith("-copy") else store[0]
        benchmark.extra_info["check"] = "reference"
        return
    rate = _bytes_moved(case, z) / median / 1e9
    ref = _seen.pop(key, None)
    if case.endswith("-copy"):
        text = f"{rate:.1f} GB/s"
        if ref is not None:
            copy_rate = 4 * z.nbytes / ref / 1e9
            text += f"; copy {copy_rate:.1f} GB/s"
        benchmark.extra_info["check"] = text
        return
    if ref is None:
        check = "unchecked"
    else:
        ok = _agree(store[0], ref, shape.dtype)
        check = "ok" if ok else "MISMATCH"
    benchmark.extra_info["check"] = f"{check}; {rate:.1f} GB/s"
    assert check != "MISMATCH", f"fastml and the reference disagree on {case} {shape.id}"
