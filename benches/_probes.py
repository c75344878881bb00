"""One-shot measurements that need a fresh interpreter; ``run.py`` runs each in a subprocess.

    python benches/_probes.py import MODULE            seconds to import MODULE
    python benches/_probes.py first-call [NAME]        import + first call of one public
                                                       function on a 10^4 x 10 input
    python benches/_probes.py memory IMPL ROWS LABELS  peak memory of one AP macro call
    python benches/_probes.py end-to-end MODULE        fresh process: import, macro AP 10^5 x 20

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


def _first_call_inputs():
    import numpy as np

    rng = np.random.default_rng(0)
    y = (rng.random((10_000, 10)) < 0.1).astype(np.int64)
    y[0] = 1
    score = y + 0.5 * rng.standard_normal(y.shape)
    pred = (score > 0.5).astype(np.int64)
    x = rng.standard_normal((10_000, 5))
    ids = rng.integers(0, 10**6, 10_000)
    return y, score, pred, x, ids


# name -> (module, code run as the first call; y, score, pred, x, ids and the module's names
# are in scope)
FIRST_CALLS = {
    "average_precision_score": ("fastml.metrics", "average_precision_score(y, score)"),
    "roc_auc_score": ("fastml.metrics", "roc_auc_score(y, score)"),
    "label_ranking_average_precision_score": (
        "fastml.metrics", "label_ranking_average_precision_score(y, score)"),
    "coverage_error": ("fastml.metrics", "coverage_error(y, score)"),
    "label_ranking_loss": ("fastml.metrics", "label_ranking_loss(y, score)"),
    "hamming_loss": ("fastml.metrics", "hamming_loss(y, pred)"),
    "f1_score": ("fastml.metrics", "f1_score(y, pred, average='macro')"),
    "multilabel_report": ("fastml.metrics", "multilabel_report(y, score)"),
    "best_thresholds": ("fastml.metrics", "best_thresholds(y, score)"),
    "batch_average_precision_score": (
        "fastml.metrics", "batch_average_precision_score(y, score[None])"),
    "weighted_bce": ("fastml.losses", "weighted_bce(y, score, return_grad=True)"),
    "focal_loss": ("fastml.losses", "focal_loss(y, score, return_grad=True, return_hess=True)"),
    "label_weights": ("fastml.losses", "label_weights(y, 'balanced')"),
    "has_leakage": ("fastml.leakage", "has_leakage(ids[:8000], ids[8000:])"),
    "overlap_mask": ("fastml.leakage", "overlap_mask(ids[:8000], ids[8000:])"),
    "shared_ids": ("fastml.leakage", "shared_ids(ids[:8000], ids[8000:])"),
    "imbalance_report": ("fastml.resample", "imbalance_report(y)"),
    "MLSMOTE": ("fastml.resample", "MLSMOTE(random_state=0).fit_resample(x, y)"),
    "MLROS": ("fastml.resample", "MLROS(random_state=0).fit_resample(x, y)"),
    "multilabel_train_test_split": (
        "fastml.split", "multilabel_train_test_split(x, y, y=y, test_size=0.2, random_state=0)"),
    "MultilabelStratifiedKFold": (
        "fastml.split", "list(MultilabelStratifiedKFold(5, random_state=0, shuffle=True)"
        ".split(x, y))"),
}


def _first_call(name: str = "average_precision_score") -> dict:
    """Import of the function's module, then its first call (a fresh process: nothing
    warm)."""
    module, code = FIRST_CALLS[name]
    y, score, pred, x, ids = _first_call_inputs()
    start = time.perf_counter()
    mod = import_module(module)
    imported = time.perf_counter()
    scope = {name: getattr(mod, name)}
    scope.update(y=y, score=score, pred=pred, x=x, ids=ids)
    eval(code, scope)
    done = time.perf_counter()
    return {"import_s": imported - start, "call_s": done - imported,
            "numba": "numba" in sys.modules}


def _end_to_end(module: str) -> dict:
    """Seconds from before ``import numpy`` to a macro AP on 10^5 x 20 (``module``'s)."""
    start = time.perf_counter()
    import numpy as np

    rng = np.random.default_rng(0)
    y = (rng.random((100_000, 20)) < 0.05).astype(np.int64)
    score = y + rng.standard_normal(y.shape)
    import_module(module).average_precision_score(y, score, average="macro")
    return {"seconds": time.perf_counter() - start}


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
    average_precision_score(y[:1_000], score[:1_000])  # imports, first-use costs
    reset = _reset_peak()
    before = _peak_rss()
    average_precision_score(y, score)
    return {
        "extra_bytes": _peak_rss() - before,
        "score_bytes": score.nbytes,
        "peak_reset": reset,
    }


if __name__ == "__main__":
    probes = {"import": _import, "first-call": _first_call, "memory": _memory,
              "end-to-end": _end_to_end}
    print(json.dumps(probes[sys.argv[1]](*sys.argv[2:])))
