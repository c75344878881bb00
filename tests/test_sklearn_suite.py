"""scikit-learn's own metric tests, run with fastml's functions swapped into sklearn.metrics.

Deselected: ``test_scoring_is_not_metric`` checks that passing a metric *function* from the
``sklearn.metrics`` module as ``scoring=`` is refused; it recognises sklearn's functions by
their ``__module__``, which fastml's functions (rightly) do not share.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn.metrics.tests.test_ranking")

MODULES = [
    "sklearn.metrics.tests.test_ranking",
    "sklearn.metrics.tests.test_classification",
    "sklearn.metrics.tests.test_common",
]
DESELECT = ["test_scoring_is_not_metric"]


@pytest.mark.parametrize("module", MODULES)
def test_sklearn_metric_suite_passes_with_fastml(module, tmp_path):
    env = dict(os.environ)
    plugin_dir = str(Path(__file__).parent / "sklearn_suite")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [plugin_dir, env.get("PYTHONPATH")]))
    cmd = [
        sys.executable, "-m", "pytest", "-p", "swap_plugin", "--pyargs", module,
        "-q", "-p", "no:cacheprovider", "-x", "-W", "ignore",
        "-k", " and ".join(f"not {name}" for name in DESELECT),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, f"scikit-learn's {module} failed with fastml swapped in:\n{tail}"
    assert " passed" in result.stdout
