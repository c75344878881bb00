"""Multi-label stratified, group-aware train/test splits and cross-validation splitters.

Iterative stratification (Sechidis, Tsoumakas & Vlahavas, 2011), generalised to groups: the
rows of a group (a patient, a user, a document) always land on the same side, and each
label's positives are spread over the parts in proportion to the parts' sizes as closely as
the groups allow. ``min_test_positives`` keeps rare labels testable: a per-label floor on the
test side, met by moving whole groups whenever that is possible.

- :func:`multilabel_train_test_split`: like :func:`sklearn.model_selection.train_test_split`.
- :class:`MultilabelStratifiedKFold`, :class:`MultilabelStratifiedShuffleSplit`,
  :class:`MultilabelStratifiedGroupKFold`: scikit-learn splitters (``split(X, y, groups)``,
  ``get_n_splits``), usable as ``cv=`` in ``cross_val_score``, ``GridSearchCV`` and so on.
  The first two take the same arguments as those of the ``iterative-stratification``
  package.

The assignment runs in one compiled kernel (``fastml.kernels.cpu.split``); this module
validates the input, aggregates rows into groups, and shapes the results. The algorithm is a
sequential greedy loop, so it has no GPU twin: CuPy labels and groups are copied to the host.
Results depend only on the input and ``random_state`` (an int gives the same split every
time).
"""

from fastml.split._splitters import (
    MultilabelStratifiedGroupKFold,
    MultilabelStratifiedKFold,
    MultilabelStratifiedShuffleSplit,
    multilabel_train_test_split,
)
from fastml.split._stratify import MinTestPositivesWarning

__all__ = [
    "MinTestPositivesWarning",
    "MultilabelStratifiedGroupKFold",
    "MultilabelStratifiedKFold",
    "MultilabelStratifiedShuffleSplit",
    "multilabel_train_test_split",
]
