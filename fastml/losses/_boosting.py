"""Custom objectives and an evaluation metric for XGBoost and LightGBM, on the fused kernels.

Nothing here imports XGBoost or LightGBM: the callables read labels and weights through the
training set's own methods (``get_label``, ``get_weight``), so one object serves both the
native training functions and the scikit-learn wrappers.
"""

from __future__ import annotations

import sys
import warnings
from typing import Literal

import numpy as np

from fastml._backend import is_cupy
from fastml._gpu import namespace, to_device
from fastml._validation import find_stack_level, to_numpy
from fastml.losses._core import (
    _as_labels,
    _focal_loss,
    _scalar,
    _weighted_bce,
    label_frequencies,
)

_LOSSES = ("focal", "bce")


def prior_logits(Y, *, eps: float = 1e-6) -> np.ndarray:
    """Per-label logit of the positive rate, ``log(p / (1 - p))``: the margin to start
    boosting from.

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_labels) or (n_samples,)
        0/1 (or soft) labels in [0, 1], checked as :func:`label_frequencies` checks them.
    eps : float, default=1e-6
        The rates are clipped to ``[eps, 1 - eps]`` so that a label with no positives (or no
        negatives) gets a finite start; ``0 < eps < 0.5``.

    Returns
    -------
    ndarray of shape (n_labels,) (a 1-D ``Y`` gives shape (1,))

    Raises
    ------
    ValueError
        ``Y`` is empty, not 1-D or 2-D, or holds values outside [0, 1] or NaN; ``eps`` is
        not finite or not in (0, 0.5).
    TypeError
        ``Y`` is not numeric, or ``eps`` is not a real number.

    Notes
    -----
    With a custom objective XGBoost takes ``base_score`` as a margin (no link function), so
    pass ``base_score=prior_logits(Y)`` (a list: one value per target, XGBoost >= 3.1), or
    ``base_margin=np.tile(prior_logits(Y), (n, 1))`` in the ``DMatrix`` (any version). For
    LightGBM use ``init_score`` in the ``Dataset`` the same way. A start far from the prior
    (XGBoost's default ``base_score`` is estimated for its built-in objectives only) wastes
    rounds, and with the focal loss's exact hessian can stall training entirely.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.losses import prior_logits
    >>> prior_logits(np.array([[1, 0], [0, 0], [0, 0], [0, 1]])).round(4).tolist()
    [-1.0986, -1.0986]
    """
    eps = _scalar(eps, "eps")
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must lie in (0, 0.5), got {eps}")
    p = np.clip(label_frequencies(Y)[0], eps, 1.0 - eps)
    return np.log(p) - np.log1p(-p)


class _Loss:
    """A loss with fixed parameters, evaluated by the fused kernels."""

    def __init__(self, loss, alpha, gamma, w_pos, w_neg, hessian, min_hess):
        if loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
        self.loss = loss
        self.alpha = alpha
        self.gamma = gamma
        self.w_pos = w_pos
        self.w_neg = w_neg
        self.hessian = hessian
        self.min_hess = min_hess

    def _params(self, label: int | None):
        """(alpha, w_pos, w_neg), restricted to one label when ``label`` is given."""

        def pick(v):
            if v is None or label is None:
                return v
            a = np.asarray(v, dtype=np.float64)
            return a if a.ndim == 0 else a[label]

        return pick(self.alpha), pick(self.w_pos), pick(self.w_neg)

    def grad_hess(self, y, z, sample_weight=None, label: int | None = None):
        """Element-wise gradient and hessian of the loss w.r.t. the margins ``z``."""
        alpha, w_pos, w_neg = self._params(label)
        if self.loss == "bce":
            _, g, h = _weighted_bce(
                y, z, w_pos, w_neg, "sum", sample_weight, True, True, True
            )
        else:
            _, g, h = _focal_loss(
                y, z, alpha, self.gamma, "sum", self.hessian, self.min_hess, sample_weight,
                True, True, True,
            )
        return g, h

    def __repr__(self) -> str:
        args = [repr(self.loss)]
        if self.loss == "focal":
            args += [f"alpha={self.alpha!r}", f"gamma={self.gamma!r}", f"hessian={self.hessian!r}"]
        else:
            args += [f"w_pos={self.w_pos!r}", f"w_neg={self.w_neg!r}"]
        return f"{type(self).__name__}({', '.join(args)})"


def _matching(y: np.ndarray, z: np.ndarray, y_name: str, z_name: str) -> np.ndarray:
    """``y`` reshaped to ``z``'s shape, or a ValueError naming both shapes."""
    if y.size != z.size:
        raise ValueError(
            f"{y_name} of shape {y.shape} do not match the {z_name} of shape {z.shape}: "
            f"one label per prediction is needed"
        )
    return y.reshape(z.shape)


def _n_rows(data) -> int | None:
    """Rows of a LightGBM Dataset or XGBoost DMatrix (None when it does not say)."""
    for method in ("num_data", "num_row"):
        f = getattr(data, method, None)
        if callable(f):
            try:
                return int(f())
            except Exception:  # a Dataset not constructed yet
                return None
    return None


def _called_by_lightgbm() -> bool:
    """Whether the caller of the caller is LightGBM's code (its scikit-learn wrapper)."""
    frame = sys._getframe(2)
    return str(frame.f_globals.get("__name__", "")).split(".", 1)[0] == "lightgbm"


def _weights_or_none(w):
    if w is None:
        return None
    w = np.asarray(w)
    return w if w.size else None


class XGBoostObjective(_Loss):
    """Focal or weighted-BCE objective for XGBoost, multi-label included.

    One object serves ``xgb.train(params, dtrain, obj=objective)`` (called as
    ``objective(predt, dtrain)``) and ``XGBClassifier(objective=objective)`` (called as
    ``objective(y_true, y_pred, sample_weight=None)``). Predictions come in as margins of
    shape (n,) or (n, K); labels are reshaped to match; the gradient and hessian go back as
    arrays of the same shape. Sample weights of the ``DMatrix`` are applied.

    Parameters
    ----------
    loss : {"focal", "bce"}, default="focal"
    alpha, gamma : focal loss parameters (see :func:`fastml.losses.focal_loss`); ``alpha``
        may hold one value per label.
    w_pos, w_neg : weighted BCE weights per label (see :func:`fastml.losses.weighted_bce`).
    hessian : {"fisher", "clip", "abs", "exact"}, default="fisher"
        Focal loss hessian. "fisher" (the BCE hessian times the focal factor, always > 0)
        is the safe choice for boosting: the exact hessian is negative for confidently wrong
        margins, where XGBoost's Newton step ``-G / (H + lambda)`` then points the wrong way
        or explodes (see the tests: from a bad start "exact" stalls, "fisher" trains).
    min_hess : float, default=1e-6
        Floor of the "clip" hessian.

    Notes
    -----
    Multi-label training: ``DMatrix(X, label=Y)`` with ``Y`` of shape (n, K), and
    ``params={"num_target": K, "multi_strategy": "one_output_per_tree", ...}`` (or
    "multi_output_tree"). ``XGBClassifier(objective=obj, tree_method="hist")`` fitted on
    ``Y`` (n, K) does the same. Start the margins at the label priors: ``base_score =
    prior_logits(Y).tolist()`` (XGBoost >= 3.1) or ``base_margin`` (see
    :func:`prior_logits`). With a custom objective ``Booster.predict`` returns margins
    (``output_margin`` is implied); apply a sigmoid for probabilities. Pair it with
    :class:`AveragePrecisionMetric` (``custom_metric`` / ``eval_metric``): early stopping
    then keeps the round with the best average precision, and
    ``disable_default_eval_metric=True`` spares XGBoost its default metric (the ``rmse``
    of the margins).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.losses import XGBoostObjective
    >>> obj = XGBoostObjective("focal", alpha=0.25, gamma=2.0)
    >>> grad, hess = obj(np.array([[1.0, 0.0]]), np.array([[2.0, -1.0]], dtype=np.float32))
    >>> grad.dtype, grad.shape, bool((hess > 0).all())
    (dtype('float32'), (1, 2), True)
    """

    def __init__(
        self,
        loss: Literal["focal", "bce"] = "focal",
        *,
        alpha=0.25,
        gamma: float = 2.0,
        w_pos=None,
        w_neg=None,
        hessian: Literal["fisher", "clip", "abs", "exact"] = "fisher",
        min_hess: float = 1e-6,
    ):
        super().__init__(loss, alpha, gamma, w_pos, w_neg, hessian, min_hess)

    def __call__(self, a, b, sample_weight=None):
        if hasattr(b, "get_label"):  # xgb.train: (predt, dtrain)
            predt, labels, weight = a, b.get_label(), _weights_or_none(b.get_weight())
        else:  # scikit-learn wrapper: (y_true, y_pred, sample_weight=None)
            labels, predt, weight = a, b, _weights_or_none(sample_weight)
        if is_cupy(predt):  # XGBoost on a GPU: gradients stay on the device
            z = predt
            y = to_device(namespace(predt), labels).reshape(z.shape)
        else:
            z = to_numpy(predt, "predt")
            y = _matching(to_numpy(labels, "labels"), z, "labels", "predt")
        return self.grad_hess(y, z, weight)


class LightGBMObjective(_Loss):
    """Focal or weighted-BCE objective for LightGBM.

    LightGBM has no multi-label mode (labels must be 1-D). Two ways to train K labels:

    - one booster per label: ``LightGBMObjective(..., label=j)`` for label ``j`` picks that
      label's entry of per-label ``alpha`` / ``w_pos`` / ``w_neg``; labels come from the
      ``Dataset`` (``lgb.Dataset(X, label=Y[:, j])``);
    - one booster with ``num_class=K`` and the labels from a closure: ``LightGBMObjective(...,
      y=Y)`` with ``Y`` (n, K) and a dummy ``Dataset`` label (``np.zeros(n)``). LightGBM
      then grows K trees per round, each on its own column of gradients: the same model as
      K boosters. Predictions (``Booster.predict``) are raw margins of shape (n, K).

    Called as ``objective(preds, train_data)`` (``lgb.train`` with ``params["objective"] =
    objective``) or ``objective(y_true, y_pred[, weight[, group]])`` (``LGBMClassifier``).
    Dataset weights are applied. Start from the priors with ``init_score`` (see
    :func:`prior_logits`).

    Parameters
    ----------
    loss, alpha, gamma, w_pos, w_neg, hessian, min_hess
        As :class:`XGBoostObjective`.
    y : array-like of shape (n, K), default=None
        Labels for the ``num_class`` form (the ``Dataset`` label is then ignored).
    label : int, default=None
        The label index of a one-label booster (selects per-label parameters).

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.losses import LightGBMObjective
    >>> Y = np.array([[1, 0], [0, 1], [0, 0]])
    >>> obj = LightGBMObjective("bce", w_pos=[3.0, 2.0], y=Y)
    >>> grad, hess = obj(np.zeros((3, 2)), None)   # preds (n, K), as LightGBM >= 4 passes
    >>> grad.tolist()
    [[-1.5, 0.5], [0.5, -1.0], [0.5, 0.5]]
    """

    def __init__(
        self,
        loss: Literal["focal", "bce"] = "focal",
        *,
        alpha=0.25,
        gamma: float = 2.0,
        w_pos=None,
        w_neg=None,
        hessian: Literal["fisher", "clip", "abs", "exact"] = "fisher",
        min_hess: float = 1e-6,
        y=None,
        label: int | None = None,
    ):
        super().__init__(loss, alpha, gamma, w_pos, w_neg, hessian, min_hess)
        self.y = None if y is None else _as_labels(y)
        self.label = label

    def __call__(self, a, b, *rest):
        if b is None or hasattr(b, "get_label"):  # lgb.train: (preds, train_data)
            preds = a
            weight = None if b is None else _weights_or_none(b.get_weight())
            labels = self.y if self.y is not None else b.get_label()
        else:  # scikit-learn wrapper: (y_true, y_pred[, weight[, group]])
            labels = self.y if self.y is not None else a
            preds = b
            weight = _weights_or_none(rest[0]) if rest else None
        z = to_numpy(preds, "preds")
        y = to_numpy(labels, "labels")
        flat_class_major = z.ndim == 1 and y.ndim == 2 and z.size == y.size
        if flat_class_major:  # LightGBM < 4 passes (n * K,) in class-major order
            z = z.reshape(y.shape[1], y.shape[0]).T
        grad, hess = self.grad_hess(_matching(y, z, "labels", "preds"), z, weight, self.label)
        if flat_class_major:
            return grad.T.reshape(-1), hess.T.reshape(-1)
        return grad, hess


_AP_AVERAGES = ("macro", "micro", "weighted", "samples")
# XGBoost's early stopping, left to decide (XGBClassifier, or xgb.train without maximize=),
# maximises a metric whose name starts with one of these (except "mape") and minimises any
# other: the only way a custom metric tells it that larger is better.
_XGB_MAXIMIZE_PREFIXES = ("auc", "pre", "map", "ndcg")


def _is_lightgbm(data) -> bool:
    return any(cls.__module__.split(".", 1)[0] == "lightgbm" for cls in type(data).__mro__)


class AveragePrecisionMetric:
    """Average precision (``fastml.metrics.average_precision_score``) as an evaluation
    metric for XGBoost and LightGBM; larger is better, and early stopping keeps the round
    with the largest value.

    - ``xgb.train(..., custom_metric=metric)``: called as ``metric(predt, dmatrix)``,
      returns ``(name, value)``.
    - ``XGBClassifier(eval_metric=metric)``: called as ``metric(y_true, y_score)`` (with
      ``sample_weight=`` when the evaluation set has weights), returns the value (named by
      ``metric.__name__``).
    - ``lgb.train(..., feval=metric)``: called as ``metric(preds, dataset)``, returns
      ``(name, value, True)`` (``True``: higher is better). For the ``num_class``
      multi-label form pass ``y``, the label matrices (n, K) of the data sets evaluated.
    - ``LGBMClassifier().fit(..., eval_metric=metric)``: called by LightGBM's scikit-learn
      wrapper as ``metric(y_true, y_pred, weight)``, returns ``(name, value, True)`` as
      that wrapper requires. (LightGBM takes a callable ``eval_metric`` in ``fit`` only: its
      constructor passes keyword arguments on to the booster, which refuses a callable.)

    Scores may be margins or probabilities (average precision only depends on their
    order). The data set's weights, if any, weight the samples.

    Parameters
    ----------
    average : {"macro", "micro", "weighted", "samples"}, default="macro"
    y : array-like of shape (n, K), dict or list of them, default=None
        Labels to use instead of the data set's (LightGBM ``num_class`` form, whose
        ``Dataset`` holds a dummy 1-D label). LightGBM evaluates every data set of
        ``valid_sets``, the training set too when it is listed, so give the labels of each:
        a dict keyed by the data set objects, ``{dtrain: Y_train, dvalid: Y_valid}``, or a
        list ``[Y_train, Y_valid]`` (each data set then takes the matrix with its number
        of rows; a dict is needed when two different matrices have the same number of
        rows). One matrix serves the data sets with its number of rows. A data set without
        labels here gets a ValueError naming the shapes.
    name : str, default=None
        Name shown in the training log; default ``"aucpr_<average>"``.

    Notes
    -----
    XGBoost has no way for a custom metric to say that larger is better other than its
    name: its early stopping, unless given ``maximize=True`` (``xgb.train`` only), maximises
    a metric whose name starts with "auc", "pre", "map" or "ndcg" and minimises any other,
    silently keeping the worst round. The default name starts with "aucpr" (average
    precision is the step-wise area under the precision-recall curve), so early stopping
    keeps the best round in ``xgb.train`` and in ``XGBClassifier`` alike; a ``name``
    without such a prefix gets a warning. Early stopping follows the last metric of the
    last evaluation set, which is the custom one; XGBoost still computes its default metric
    (``rmse`` of the margins with ``xgb.train``, ``logloss`` in ``XGBClassifier``) unless
    ``disable_default_eval_metric=True`` is set in the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from fastml.losses import AveragePrecisionMetric
    >>> metric = AveragePrecisionMetric()
    >>> metric(np.array([[1, 0], [0, 1], [1, 1]]), np.array([[2.0, -1.0], [0.1, 0.3], [1.0, 0.4]]))
    1.0
    >>> metric.__name__
    'aucpr_macro'
    """

    def __init__(self, average: str = "macro", *, y=None, name: str | None = None):
        if not (isinstance(average, str) and average in _AP_AVERAGES):
            raise ValueError(f"average must be one of {_AP_AVERAGES}, got {average!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string, got {name!r}")
        if name and (name == "mape" or not name.startswith(_XGB_MAXIMIZE_PREFIXES)):
            warnings.warn(
                f"XGBoost's early stopping minimises a custom metric named {name!r}: it "
                f"maximises only names starting with {_XGB_MAXIMIZE_PREFIXES} (or with "
                "xgb.train(..., maximize=True)), so XGBClassifier would keep the round with "
                "the lowest average precision",
                UserWarning,
                stacklevel=find_stack_level(),
            )
        self.average = average
        self.y = _label_sets(y)
        self.__name__ = name or f"aucpr_{average}"

    def _value(self, labels, scores, weight) -> float:
        from fastml.metrics import average_precision_score

        s = to_numpy(scores, "scores")
        y = to_numpy(labels, "labels")
        if s.ndim == 1 and y.ndim == 2 and s.size == y.size:  # LightGBM < 4, class-major
            s = s.reshape(y.shape[1], y.shape[0]).T
        return float(
            average_precision_score(
                _matching(y, s, "labels", "scores"), s, average=self.average,
                sample_weight=weight,
            )
        )

    def _labels_for(self, data, preds):
        """The labels of the data set ``data`` being evaluated (see ``y``)."""
        y = self.y
        if y is None:
            return data.get_label()
        if isinstance(y, dict):
            for key, labels in y.items():
                if key is data:
                    return labels
            raise ValueError(
                f"AveragePrecisionMetric(y=...) has labels for {len(y)} data sets, not for "
                "the one being evaluated: key y by every data set evaluated (LightGBM "
                "evaluates each one in valid_sets, the training set too when listed)"
            )
        candidates = y if isinstance(y, list) else [y]
        n = _n_rows(data)
        z = np.asarray(preds)
        if n is None:
            n = z.shape[0] if z.ndim == 2 else None
        found = [
            c for c in candidates
            if (c.shape[0] == n if n is not None else c.size == z.size)
        ]
        if not found:
            shapes = ", ".join(str(c.shape) for c in candidates)
            rows = f"{n} rows" if n is not None else f"predictions of shape {z.shape}"
            raise ValueError(
                f"AveragePrecisionMetric(y=...) holds labels of shape {shapes}, but the data "
                f"set being evaluated has {rows} (LightGBM evaluates every data set in "
                "valid_sets, the training set too when listed): pass the labels of each, "
                "y={dtrain: Y_train, dvalid: Y_valid} or y=[Y_train, Y_valid]"
            )
        if any(f is not found[0] and not np.array_equal(f, found[0]) for f in found[1:]):
            raise ValueError(
                f"AveragePrecisionMetric(y=[...]) has {len(found)} different label matrices "
                f"with {n} rows: key them by data set, y={{dtrain: Y_train, dvalid: Y_valid}}"
            )
        return found[0]

    def __call__(self, a, b, sample_weight=None):
        if hasattr(b, "get_label"):  # native training: (predt, data set)
            labels = self._labels_for(b, a)
            value = self._value(labels, a, _weights_or_none(b.get_weight()))
            if _is_lightgbm(b):
                return self.__name__, value, True
            return self.__name__, value
        # scikit-learn wrappers: (y_true, y_score, sample_weight=None) from XGBoost, and
        # (y_true, y_pred, weight) from LightGBM's, which wants (name, value, higher_better)
        labels = self.y if isinstance(self.y, np.ndarray) else a
        value = self._value(labels, b, _weights_or_none(sample_weight))
        if _called_by_lightgbm():
            return self.__name__, value, True
        return value


def _label_sets(y):
    """``y`` of :class:`AveragePrecisionMetric`: None, one label matrix, a dict of them
    keyed by data set, or a list of them (a nested list of numbers is one matrix)."""
    if y is None:
        return None
    if isinstance(y, dict):
        return {key: _as_labels(labels) for key, labels in y.items()}
    if isinstance(y, (list, tuple)) and y and all(np.ndim(m) == 2 for m in y):
        return [_as_labels(m) for m in y]
    return _as_labels(y)
