"""One-shot measurements that need a fresh interpreter; ``run.py`` runs each in a subprocess.

    python benches/_probes.py import MODULE            seconds to import MODULE
    python benches/_probes.py first-call               import + first call, fastml AP macro
    python benches/_probes.py memory IMPL ROWS LABELS  peak memory of one AP macro call

Each prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from importlib import import_module


def _import(module: str) -> dict:
    start = time.perf_counter()
    import_module(module)
    return {"seconds": time.perf_counter() - start}


def _first_call() -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    y = (rng.random((1_000, 20)) < 0.05).astype(np.int64)
    y[0] = 1
    score = y + 0.5 * rng.standard_normal(y.shape)
    start = time.perf_counter()
    from fastml.metrics import average_precision_score

    imported = time.perf_counter()
    average_precision_score(y, score)
    done = time.perf_counter()
    return {"import_s": imported - start, "call_s": done - imported}


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes (since the last reset, on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> bool:
    try:  # Linux: writing 5 to clear_refs resets the peak (VmHWM) to the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _memory(impl: str, rows: str, labels: str) -> dict:
    from _inputs import Shape, scored

    if impl == "fastml":
        from fastml.metrics import average_precision_score
    else:
        from sklearn.metrics import average_precision_score
    y, score = scored(Shape(int(rows), int(labels)))
    average_precision_score(y[:1_000], score[:1_000])  # imports, JIT compile
    reset = _reset_peak()
    before = _peak_rss()
    average_precision_score(y, score)
    return {
        "extra_bytes": _peak_rss() - before,
        "score_bytes": score.nbytes,
        "peak_reset": reset,
    }


if __name__ == "__main__":
    probes = {"import": _import, "first-call": _first_call, "memory": _memory}
    print(json.dumps(probes[sys.argv[1]](*sys.argv[2:])))
