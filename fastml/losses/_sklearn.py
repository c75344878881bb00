"""Probabilities from a classifier trained with a custom objective.

LightGBM's and XGBoost's scikit-learn classifiers cannot know the link function of a custom
objective: with one, LightGBM's ``predict_proba`` returns the raw margins (with a warning)
instead of probabilities. The objectives of :mod:`fastml.losses` model the positive class's
log-odds, so the probability is the sigmoid of the margin; :class:`SigmoidClassifier` applies
it, and works inside scikit-learn's meta-estimators (``MultiOutputClassifier``, ...).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["SigmoidClassifier"]


def _library(estimator) -> str:
    return next(
        (cls.__module__.split(".", 1)[0] for cls in type(estimator).__mro__
         if cls.__module__.split(".", 1)[0] in ("lightgbm", "xgboost")),
        "",
    )


class SigmoidClassifier(ClassifierMixin, BaseEstimator):
    """A binary classifier whose ``predict_proba`` is the sigmoid of its model's margins.

    For a LightGBM or XGBoost classifier trained with a custom objective of
    :mod:`fastml.losses` (:class:`~fastml.losses.LightGBMObjective`,
    :class:`~fastml.losses.XGBoostObjective`): the boosters return raw margins (the
    log-odds of the positive class) by design, since they cannot know a custom objective's
    link function. Multi-label: wrap each label's classifier,
    ``MultiOutputClassifier(SigmoidClassifier(LGBMClassifier(objective=...)))``.

    Parameters
    ----------
    estimator : classifier
        A binary classifier with margins: LightGBM (``predict(X, raw_score=True)``),
        XGBoost (``predict(X, output_margin=True)``), or any with ``decision_function``.

    Attributes
    ----------
    estimator_ : the fitted clone of ``estimator``.
    classes_ : ndarray of shape (2,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fastml.losses import SigmoidClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> clf = SigmoidClassifier(LogisticRegression()).fit(X, [0, 0, 1, 1])
    >>> bool(np.allclose(clf.predict_proba(X), clf.estimator_.predict_proba(X)))
    True
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` (``fit_params`` are passed on)."""
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.classes_ = np.asarray(self.estimator_.classes_)
        if self.classes_.shape[0] != 2:
            raise ValueError(
                "SigmoidClassifier needs a binary target (two classes), got "
                f"{self.classes_.shape[0]} classes; for several labels wrap each label's "
                "classifier (MultiOutputClassifier(SigmoidClassifier(...)))"
            )
        return self

    def decision_function(self, X) -> np.ndarray:
        """The model's margins (log-odds of ``classes_[1]``), shape (n_samples,)."""
        check_is_fitted(self)
        est = self.estimator_
        library = _library(est)
        if library == "lightgbm":
            margins = est.predict(X, raw_score=True)
        elif library == "xgboost":
            margins = est.predict(X, output_margin=True)
        else:
            margins = est.decision_function(X)
        return np.asarray(margins, dtype=np.float64).reshape(-1)

    def predict_proba(self, X) -> np.ndarray:
        """``[1 - sigmoid(m), sigmoid(m)]`` per row, ``m`` the margin (both computed
        without cancellation: ``sigmoid(-m)`` and ``sigmoid(m)``)."""
        m = self.decision_function(X)
        return np.column_stack([expit(-m), expit(m)])

    def predict(self, X) -> np.ndarray:
        """``classes_[1]`` where the probability exceeds 0.5 (a positive margin)."""
        return self.classes_[(self.decision_function(X) > 0).astype(np.intp)]
