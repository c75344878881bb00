"""Multi-label stratified, group-aware train/test splits and cross-validation splitters.

The implementation and its documentation are in :mod:`fastml.split._stratify` for now.
"""

from fastml.split._stratify import *  # noqa: F403
from fastml.split._stratify import __all__  # noqa: F401
