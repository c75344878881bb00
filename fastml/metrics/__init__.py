"""Drop-in replacements for scikit-learn's multi-label metrics, computed in batched kernels.

Same signatures, defaults, results, warnings and exceptions as ``sklearn.metrics`` (1.9).
Input outside what the kernels cover (multiclass targets, string labels, NaN scores, ...) is
handed to scikit-learn unchanged, so results and errors always agree with it.

Submodules load on first use, so ``from fastml.metrics import hamming_loss`` stays cheap.
Every other public name of ``sklearn.metrics`` (``accuracy_score``, ``make_scorer``,
``RocCurveDisplay``, ...) can be imported from here too: it is scikit-learn's own object,
and asking for it is what imports scikit-learn.
"""

from importlib import import_module

_EXPORTS = {
    # score curves: one sorted pass per label
    "average_precision_score": "_curves",
    "roc_auc_score": "_curves",
    "multilabel_report": "_curves",
    "best_thresholds": "_curves",
    "batch_average_precision_score": "_curves",
    "precision_recall_curve": "_binary_curves",
    "roc_curve": "_binary_curves",
    # per-row ranking metrics
    "label_ranking_average_precision_score": "_multilabel_ranking",
    "coverage_error": "_multilabel_ranking",
    "label_ranking_loss": "_multilabel_ranking",
    # counting metrics
    "hamming_loss": "_classification",
    "batch_hamming_loss": "_classification",
    "precision_recall_fscore_support": "_classification",
    "precision_score": "_classification",
    "recall_score": "_classification",
    "f1_score": "_classification",
    "fbeta_score": "_classification",
    "classification_report": "_classification",
    "multilabel_confusion_matrix": "_classification",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f"fastml.metrics.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):
        # Not accelerated: scikit-learn's own object, so one import line serves both.
        reference = import_module("sklearn.metrics")
        if name in getattr(reference, "__all__", ()):
            value = getattr(reference, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'fastml.metrics' has no attribute {name!r}")


def __dir__():
    return __all__
