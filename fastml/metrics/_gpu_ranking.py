"""The label-ranking metrics on device data (CuPy arrays; NumPy arrays marked as device data
under numba-cuda's simulator): LRAP, coverage error and label ranking loss.

Inputs are checked on the device (0/1 targets, finite scores of the same 2-D shape with at
least two labels) and the per-row kernels of ``fastml.kernels.gpu.metrics_ranking`` run on
them; sample weights (one number per row) are checked on the host. What the GPU path does
not cover raises ``Unsupported``, and the public function hands the call to scikit-learn,
as on the CPU. The result is a Python float, as on the CPU.
"""

from __future__ import annotations

import numpy as np

from fastml._gpu import gpu_kernels, namespace, to_device
from fastml._validation import Unsupported, require

_NO_WEIGHTS = np.empty(0, dtype=np.float64)
_KERNELS = {"lrap": "lrap", "coverage": "coverage", "ranking_loss": "ranking_loss"}


def ranking_metric(metric: str, y_true, y_score, sample_weight) -> float:
    """``metric`` ("lrap", "coverage" or "ranking_loss") of device inputs, with the CPU
    path's score rules: bool scores are refused by LRAP (scikit-learn raises) and compare as
    0/1 elsewhere; LRAP ranks ``-y_score`` as scikit-learn does, so unsigned zeros and the
    minimum of a signed dtype wrap around to the top; coverage refuses float16 scores."""
    from fastml.metrics import _gpu
    from fastml.metrics._multilabel_ranking import _positional_weights

    xp = namespace(y_true, y_score)
    try:
        y = to_device(xp, y_true)
        s_in = to_device(xp, y_score)
    except Exception as exc:
        raise Unsupported from exc
    require(y.ndim == 2 and s_in.ndim == 2)
    require(s_in.dtype.kind in "biuf")
    if metric == "lrap":
        require(s_in.dtype.kind != "b")
    elif metric == "coverage":
        require(s_in.dtype != np.float16)
    if s_in.dtype.kind == "b":
        s_in = s_in.view(np.uint8)
    t = _gpu.scored_targets(y, s_in, sample_weight, 1)
    if metric == "lrap" and sample_weight is not None:
        _positional_weights(sample_weight)
    score = t.score
    if metric == "lrap" and s_in.dtype.kind == "u":
        score = xp.where(s_in == 0, 2.0 ** (8 * s_in.dtype.itemsize), score)
    elif metric == "lrap" and s_in.dtype.kind == "i":
        score = -((-s_in).astype(np.float64))
    w = _NO_WEIGHTS if t.weight is None else t.weight
    k = gpu_kernels("metrics_ranking")
    fn = getattr(k, _KERNELS[metric])
    return float(fn(xp.ascontiguousarray(t.y), xp.ascontiguousarray(score), w))
