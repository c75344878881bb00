"""Packaging and start-up: what a user gets from an install."""

import json
import os
import subprocess
import sys
import textwrap


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter, outside the repository; it prints one JSON line."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, check=True, cwd=os.path.expanduser("~"), env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_is_cheap_and_lazy():
    info = run_python(
        """
        import json, sys, time
        t = time.perf_counter()
        import fastml, fastml.metrics
        elapsed = time.perf_counter() - t
        print(json.dumps({"elapsed": elapsed,
                          "numba": "numba" in sys.modules, "sklearn": "sklearn" in sys.modules}))
        """
    )
    assert not info["numba"], "import fastml must not import numba"
    assert not info["sklearn"], "import fastml must not import scikit-learn"


def test_kernels_live_under_fastml_only():
    info = run_python(
        """
        import json, importlib.util, fastml.kernels
        print(json.dumps({"kernels": fastml.kernels.__name__,
                          "top_level": importlib.util.find_spec("kernels") is not None}))
        """
    )
    assert info["kernels"] == "fastml.kernels"
    assert not info["top_level"], "no top-level 'kernels' module may be installed"


def test_fast_path_does_not_import_sklearn():
    info = run_python(
        """
        import json, sys
        import numpy as np
        from fastml.metrics import average_precision_score, roc_auc_score
        y = np.array([[1, 0], [0, 1], [1, 1]]); s = np.array([[.9, .1], [.2, .8], [.6, .5]])
        average_precision_score(y, s); roc_auc_score(y, s)
        print(json.dumps({"sklearn": "sklearn" in sys.modules}))
        """
    )
    assert not info["sklearn"]


def test_version_defined_once_and_show_versions(capsys):
    from importlib.metadata import version

    import fastml

    assert fastml.__version__ == version("fastml-multilabel")
    fastml.show_versions()
    out = capsys.readouterr().out
    for word in ("fastml", "numpy", "scikit-learn", "threads", "compiled kernels", "python"):
        assert word in out
    assert "none (not built)" not in out


def test_typed_package():
    from pathlib import Path

    import fastml

    assert (Path(fastml.__file__).parent / "py.typed").is_file()


def test_every_sklearn_metrics_name_imports_from_fastml():
    import sklearn.metrics

    import fastml.metrics

    for name in sklearn.metrics.__all__:
        obj = getattr(fastml.metrics, name)
        if name not in fastml.metrics.__all__:
            assert obj is getattr(sklearn.metrics, name), name
    from fastml.metrics import accuracy_score, make_scorer  # noqa: F401

    try:
        fastml.metrics.not_a_metric  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("unknown names must raise AttributeError")


def test_no_cpu_call_imports_numba_or_compiles():
    info = run_python(
        """
        import json, sys
        import numpy as np
        from fastml.metrics import (average_precision_score, roc_auc_score, hamming_loss,
            f1_score, label_ranking_average_precision_score, coverage_error,
            label_ranking_loss, multilabel_report, best_thresholds)
        from fastml.losses import weighted_bce, focal_loss, label_weights
        from fastml.leakage import has_leakage, overlap_mask, shared_ids
        from fastml.resample import MLSMOTE, MLROS, imbalance_report
        from fastml.split import multilabel_train_test_split
        rng = np.random.default_rng(0)
        y = (rng.random((2000, 6)) < 0.2).astype(np.int64); y[0] = 1
        s = y + rng.standard_normal(y.shape); p = (s > 0.5).astype(np.int64)
        x = rng.standard_normal((2000, 3)); ids = rng.integers(0, 10**6, 2000)
        average_precision_score(y, s); roc_auc_score(y, s); hamming_loss(y, p)
        f1_score(y, p, average="macro"); label_ranking_average_precision_score(y, s)
        coverage_error(y, s); label_ranking_loss(y, s); multilabel_report(y, s)
        best_thresholds(y, s); weighted_bce(y, s); focal_loss(y, s); label_weights(y)
        has_leakage(ids[:1000], ids[1000:]); overlap_mask(ids, ids[:10])
        shared_ids(ids, ids[:10]); imbalance_report(y)
        MLSMOTE(random_state=0).fit_resample(x, y); MLROS(random_state=0).fit_resample(x, y)
        multilabel_train_test_split(x, y=y, random_state=0)
        print(json.dumps({"numba": "numba" in sys.modules}))
        """
    )
    assert not info["numba"], "a CPU call imported Numba"


def test_public_functions_have_return_annotations():
    import importlib
    import inspect

    missing = []
    for name in ("fastml", "fastml.metrics", "fastml.losses", "fastml.leakage",
                 "fastml.resample", "fastml.split", "fastml.plot"):
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isfunction(obj) and (
                    inspect.signature(obj).return_annotation is inspect.Signature.empty):
                missing.append(f"{name}.{attr}")
    assert not missing, missing
