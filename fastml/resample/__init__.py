"""Multi-label imbalance measures and resampling: MLSMOTE, ML-ROS and ML-RUS.

The implementation and its documentation are in :mod:`fastml.resample._mlsmote` for now.
"""

from fastml.resample._mlsmote import *  # noqa: F403
from fastml.resample._mlsmote import (  # noqa: F401
    __all__,
    _irlbl_from_counts,
    _k,
    _label_matrix,
    _restore_labels,
    _Synthesis,
    irlbl_from_counts,
    label_counts,
    label_matrix,
)
