"""pytest plugin: swap fastml's metrics into scikit-learn before its test modules import them.

Used by tests/test_sklearn_suite.py to run scikit-learn's own metric tests against fastml:
``pytest -p swap_plugin --pyargs sklearn.metrics.tests.test_ranking``.
"""

import sklearn.metrics

import fastml.metrics

SWAPPED = [name for name in fastml.metrics.__all__ if hasattr(sklearn.metrics, name)]

for _name in SWAPPED:
    setattr(sklearn.metrics, _name, getattr(fastml.metrics, _name))
