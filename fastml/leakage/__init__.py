"""Shared IDs between data splits: exact leakage checks on large ID columns.

The implementation and its documentation are in :mod:`fastml.leakage._columns` for now.
"""

from fastml.leakage._columns import *  # noqa: F403
from fastml.leakage._columns import (  # noqa: F401
    __all__,
    _as_column,
    _is_wide,
    _objects_of,
    _var_of_fixed,
    id_column,
    report_from_columns,
)
