"""Per-label weighted binary cross-entropy and focal loss for imbalanced multi-label learning.

Value, gradient and hessian with respect to the logits come from one fused, numerically
stable pass (a compiled parallel kernel). On top of it: objectives and an evaluation metric for
XGBoost and LightGBM, and (with torch installed) autograd functions and modules in
``fastml.losses.torch``.

Submodules load on first use, so ``import fastml.losses`` imports neither the kernels nor
any boosting library.
"""

from importlib import import_module

_EXPORTS = {
    "label_frequencies": "_core",
    "label_weights": "_core",
    "weighted_bce": "_core",
    "focal_loss": "_core",
    "prior_logits": "_boosting",
    "XGBoostObjective": "_boosting",
    "LightGBMObjective": "_boosting",
    "AveragePrecisionMetric": "_boosting",
    "SigmoidClassifier": "_sklearn",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f"fastml.losses.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastml.losses' has no attribute {name!r}")


def __dir__():
    return sorted([*__all__, "torch"])
