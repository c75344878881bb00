"""Multi-label imbalance measures and resampling: MLSMOTE, ML-ROS and ML-RUS.

Measures (Charte, Rivera, del Jesus & Herrera, 2015), as the mldr R package computes them:

- ``IRLbl`` of a label: (positives of the most frequent label) / (positives of the label).
  A label without positives gets IRLbl 0 (mldr's convention), and is counted as 0 in MeanIR.
- ``MeanIR``, ``MaxIR``: mean and maximum IRLbl over the labels; ``CVIR``: the standard
  deviation of IRLbl (over labels, ``ddof=1``) divided by MeanIR.
- ``SCUMBLE`` of a row: 1 - (geometric mean) / (arithmetic mean) of the IRLbl of the row's
  labels (0 for a row with fewer than two labels); of the data set: its mean over all rows;
  of a label: its mean over the rows having the label (NaN for a label without positives).

Resampling, with imbalanced-learn's ``fit_resample(X, Y)`` contract (original rows first,
then the new ones; ``Y`` is the (n_samples, n_labels) 0/1 matrix):

- :class:`MLSMOTE` / :func:`mlsmote`: synthetic rows for the minority labels (Charte et al.,
  Knowledge-Based Systems 2015).
- :class:`MLROS` / :func:`mlros` and :class:`MLRUS` / :func:`mlrus`: random over-sampling
  (cloning) and under-sampling (deletion) of the rows of the minority / majority labels'
  bags (Charte et al., Neurocomputing 2015).

Everything random takes ``random_state`` (None, an int, a ``numpy.random.Generator`` or
``RandomState``): the same seed gives the same output, whatever the number of threads. The
work runs in compiled kernels (``fastml.kernels.cpu.resample``) on ``fastml.set_num_threads``
threads (``FASTML_NUM_THREADS`` at start-up).
"""

# Besides the public names: internal-public ones for fastml's own modules such as
# ``fastml.plot`` (``label_counts``, ``irlbl_from_counts``, ``label_matrix``) and private
# ones that ``fastml._dask.resample`` reads from here.
from fastml._validation import label_matrix  # noqa: F401
from fastml.resample._base import _k, _restore_labels  # noqa: F401
from fastml.resample._measures import (  # noqa: F401
    ImbalanceReport,
    _irlbl_from_counts,
    cvir,
    imbalance_report,
    irlbl,
    irlbl_from_counts,
    label_counts,
    max_ir,
    mean_ir,
    scumble,
    scumble_per_label,
    scumble_per_sample,
)
from fastml.resample._mlsmote import MLSMOTE, _Synthesis, mlsmote  # noqa: F401
from fastml.resample._random import MLROS, MLRUS, mlros, mlrus

__all__ = [
    "MLROS",
    "MLRUS",
    "MLSMOTE",
    "ImbalanceReport",
    "cvir",
    "imbalance_report",
    "irlbl",
    "max_ir",
    "mean_ir",
    "mlros",
    "mlrus",
    "mlsmote",
    "scumble",
    "scumble_per_label",
    "scumble_per_sample",
]
