"""GPU benchmark: fastml on CuPy arrays against fastml on the CPU (same machine), torchmetrics'
exact multi-label AP and torch's BCE / focal loss forward + backward on the same GPU.

    python benches/gpu_bench.py [--write] [--quick]     (needs CuPy, numba-cuda, a GPU)
    NUMBA_ENABLE_CUDASIM=1 python benches/gpu_bench.py --simulate   (smoke test, no GPU)

Every case first checks that the GPU result equals the CPU result (and the torch reference
where there is one), then times it: the first call in this process (numba-cuda compiles the
kernels then) and the median of the following calls, with the device synchronised. Writes
benches/RESULTS-gpu.md with ``--write`` (machine, GPU model, versions).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


class Device:
    def __init__(self, simulate: bool):
        self.simulate = simulate
        if simulate:
            from fastml.kernels.gpu._launch import simulated

            self.put = simulated
            self.get = lambda a: np.asarray(a.get() if hasattr(a, "get") else a)
            self.sync = lambda: None
            self.name = "CUDA simulator (no GPU)"
        else:
            import cupy

            self.put = cupy.asarray
            self.get = lambda a: cupy.asnumpy(a) if isinstance(a, cupy.ndarray) else a
            self.sync = lambda: cupy.cuda.get_current_stream().synchronize()
            props = cupy.cuda.runtime.getDeviceProperties(0)
            name = props["name"]
            self.name = name.decode() if isinstance(name, bytes) else str(name)
            self.name += f", {props['totalGlobalMem'] / 2**30:.0f} GiB"
            self.name += f", driver {cupy.cuda.runtime.driverGetVersion()}"


def timed(fn, sync, repeat):
    sync()
    t0 = time.perf_counter()
    out = fn()
    sync()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return out, first, statistics.median(times)


def close(a, b, rtol):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * 1e-3, equal_nan=True))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smaller inputs")
    ap.add_argument("--simulate", action="store_true", help="tiny smoke run in the simulator")
    args = ap.parse_args(argv)
    dev = Device(args.simulate)
    from fastml.leakage import has_leakage, overlap_mask
    from fastml.losses import focal_loss, weighted_bce
    from fastml.metrics import (
        average_precision_score,
        coverage_error,
        f1_score,
        hamming_loss,
        label_ranking_average_precision_score,
        label_ranking_loss,
        roc_auc_score,
    )
    from fastml.resample import mlsmote
    from fastml.slow.resample import make_data

    if args.simulate:
        n, L, n_ids, repeat = 300, 4, 2000, 1
        wide, n_smote = (40, 80), 300
    elif args.quick:
        n, L, n_ids, repeat = 200_000, 20, 5_000_000, 3
        wide, n_smote = (20_000, 500), 30_000
    else:
        n, L, n_ids, repeat = 1_000_000, 20, 20_000_000, 5
        wide, n_smote = (50_000, 1000), 100_000
    rng = np.random.default_rng(0)
    y = (rng.random((n, L)) < 0.05).astype(np.uint8)
    s = rng.random((n, L))
    z32 = rng.normal(0, 2, (n, L)).astype(np.float32)
    yp = (s > 0.9).astype(np.uint8)
    big = rng.integers(0, 4 * n_ids, n_ids)
    small = rng.integers(0, 4 * n_ids, n_ids // 4)
    d = {k: dev.put(v) for k, v in dict(y=y, s=s, z32=z32, yp=yp, big=big, small=small).items()}
    rows = []

    def case(name, gpu_fn, cpu_fn, rtol, check=None):
        g, g_first, g_med = timed(gpu_fn, dev.sync, repeat)
        c, _, c_med = timed(cpu_fn, lambda: None, max(1, repeat // 2))
        ok = close(dev.get(g) if not isinstance(g, tuple) else dev.get(g[0]),
                   c if not isinstance(c, tuple) else c[0], rtol)
        rows.append((name, "fastml CPU", c_med, g_first, g_med, ok))
        print(f"{name:<42} cpu {c_med:9.4f}s  gpu first {g_first:8.3f}s  gpu {g_med:9.5f}s"
              f"  x{c_med / g_med:8.1f}  equal={ok}", flush=True)
        return g

    case(f"average_precision_score macro {n}x{L}",
         lambda: average_precision_score(d["y"], d["s"]),
         lambda: average_precision_score(y, s), 1e-12)
    case(f"average_precision_score None {n}x{L}",
         lambda: average_precision_score(d["y"], d["s"], average=None),
         lambda: average_precision_score(y, s, average=None), 1e-12)
    case(f"roc_auc_score macro {n}x{L}",
         lambda: roc_auc_score(d["y"], d["s"]), lambda: roc_auc_score(y, s), 1e-12)
    case(f"hamming_loss {n}x{L}", lambda: hamming_loss(d["y"], d["yp"]),
         lambda: hamming_loss(y, yp), 1e-12)
    case(f"f1_score macro {n}x{L}", lambda: f1_score(d["y"], d["yp"], average="macro"),
         lambda: f1_score(y, yp, average="macro"), 1e-12)
    case(f"weighted_bce + grad + hess f32 {n}x{L}",
         lambda: weighted_bce(d["y"], d["z32"], w_pos=3.0, return_grad=True, return_hess=True),
         lambda: weighted_bce(y, z32, w_pos=3.0, return_grad=True, return_hess=True), 1e-5)
    case(f"focal_loss + grad + hess f32 {n}x{L}",
         lambda: focal_loss(d["y"], d["z32"], return_grad=True, return_hess=True),
         lambda: focal_loss(y, z32, return_grad=True, return_hess=True), 1e-5)
    ranking = (("label_ranking_average_precision_score", label_ranking_average_precision_score),
               ("coverage_error", coverage_error), ("label_ranking_loss", label_ranking_loss))
    for name, fn in ranking:
        case(f"{name} {n}x{L}", lambda fn=fn: fn(d["y"], d["s"]), lambda fn=fn: fn(y, s), 1e-12)
    # wide rows: sorted per row on the device, one binary search per relevant label
    yw = (rng.random(wide) < 0.05).astype(np.uint8)
    sw = rng.random(wide)
    yw_d, sw_d = dev.put(yw), dev.put(sw)
    for name, fn in ranking[::2]:
        case(f"{name} {wide[0]}x{wide[1]}", lambda fn=fn: fn(yw_d, sw_d),
             lambda fn=fn: fn(yw, sw), 1e-12)
    # MLSMOTE (k = 5): the same synthetic rows, bit for bit (rtol 0)
    xm, ym = make_data(n_smote, n_features=50, n_labels=20)
    xm_d = dev.put(xm)
    case(f"mlsmote {n_smote}x50, 20 labels", lambda: mlsmote(xm_d, ym, random_state=0),
         lambda: mlsmote(xm, ym, random_state=0), 0.0)
    case(f"has_leakage int64 {n_ids} vs {n_ids // 4}",
         lambda: has_leakage(d["big"], d["small"]), lambda: has_leakage(big, small), 0)
    case(f"overlap_mask int64 {n_ids} vs {n_ids // 4}",
         lambda: overlap_mask(d["big"], d["small"]), lambda: overlap_mask(big, small), 0)

    torch_rows = [] if args.simulate else torch_cases(y, s, z32, repeat, average_precision_score,
                                                      weighted_bce, focal_loss, d, dev)
    text = report(dev, n, L, rows, torch_rows)
    print(text)
    if args.write:
        (HERE / "RESULTS-gpu.md").write_text(text)
    return 0 if all(r[-1] for r in rows + torch_rows) else 1


def torch_cases(y, s, z32, repeat, ap_fn, bce_fn, focal_fn, d, dev):
    """torchmetrics' exact multi-label AP and torch losses, forward + backward, same GPU."""
    try:
        import torch
    except ImportError:
        print("torch not installed: torch comparisons skipped")
        return []
    if not torch.cuda.is_available():
        return []
    out = []
    sync = torch.cuda.synchronize
    ty = torch.as_tensor(y, device="cuda")
    ts = torch.as_tensor(s, device="cuda")
    L = y.shape[1]

    def row(name, ref_fn, fast_fn, check):
        r, r_first, r_med = timed(ref_fn, sync, repeat)
        f, f_first, f_med = timed(fast_fn, dev.sync, repeat)
        ok = check(r, f)
        out.append((name, "torch, same GPU", r_med, f_first, f_med, ok))
        print(f"{name:<42} ref {r_med:9.4f}s  fastml {f_med:9.5f}s  x{r_med / f_med:8.1f}"
              f"  equal={ok}", flush=True)

    try:
        from torchmetrics.classification import MultilabelAveragePrecision

        metric = MultilabelAveragePrecision(num_labels=L, average="macro", thresholds=None)
        metric = metric.to("cuda")

        def tm():
            metric.reset()
            return float(metric(ts, ty.long()))

        row("AP macro: torchmetrics exact", tm, lambda: ap_fn(d["y"], d["s"]),
            lambda r, f: abs(r - f) < 1e-6)
    except ImportError:
        print("torchmetrics not installed: skipped")
    tz = torch.as_tensor(z32, device="cuda")
    tyf = ty.float()
    pos_weight = torch.full((L,), 3.0, device="cuda")

    def torch_bce():
        z = tz.clone().requires_grad_(True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            z, tyf, pos_weight=pos_weight, reduction="sum")
        loss.backward()
        return float(loss), z.grad

    def fast_bce():
        return bce_fn(d["y"], d["z32"], w_pos=3.0, reduction="sum", return_grad=True)

    row("weighted BCE fwd+bwd: torch", torch_bce, fast_bce,
        lambda r, f: close(r[0], f[0], 1e-4) and close(r[1].cpu().numpy(), dev.get(f[1]), 1e-4))

    def torch_focal():
        z = tz.clone().requires_grad_(True)
        p = torch.sigmoid(z)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(z, tyf, reduction="none")
        p_t = p * tyf + (1 - p) * (1 - tyf)
        loss = ce * (1 - p_t) ** 2
        loss = (0.25 * tyf + 0.75 * (1 - tyf)) * loss
        total = loss.sum()
        total.backward()
        return float(total), z.grad

    def fast_focal():
        return focal_fn(d["y"], d["z32"], reduction="sum", return_grad=True)

    row("focal loss fwd+bwd: torch (torchvision form)", torch_focal, fast_focal,
        lambda r, f: close(r[0], f[0], 1e-4) and close(r[1].cpu().numpy(), dev.get(f[1]), 1e-3))
    return out


def _v(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def report(dev, n, L, rows, torch_rows) -> str:
    lines = [
        "# fastml on the GPU: benchmark results",
        "",
        "Generated by `benches/gpu_bench.py` (run by `benches/gpu_check.sh`); do not edit.",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- GPU: {dev.name}",
        f"- CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        f"- Python {platform.python_version()}, numpy {_v('numpy')}, cupy "
        f"{_v('cupy-cuda12x')}, numba-cuda {_v('numba-cuda')}, torch {_v('torch')}, "
        f"torchmetrics {_v('torchmetrics')}, fastml {_v('fastml-multilabel')}",
        f"- inputs: {n} x {L}, 5% positives; times are medians; 'first' is the first GPU call "
        "of the process (numba-cuda compiles its kernels then)",
        "",
        "| case | reference | reference s | fastml GPU first s | fastml GPU s | speedup | "
        "equal |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for name, ref, r, first, g, ok in rows + torch_rows:
        lines.append(f"| {name} | {ref} | {r:.4f} | {first:.3f} | {g:.5f} | {r / g:.1f}x | "
                     f"{'yes' if ok else 'NO'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
