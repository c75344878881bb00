"""Benchmarks of ``fastml.metrics`` against ``sklearn.metrics`` (same name, same inputs).

Run with ``benches/run.py`` (see its docstring). Each case runs at every shape of its size
class in the chosen size set, as two entries: ``...-reference`` then ``...-fastml``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pytest
import sklearn.metrics
from _inputs import Shape, predicted, scored

import fastml.metrics

# Warnings (e.g. ill-defined F-scores of rows with nothing true and nothing predicted) are
# part of the work both sides do; they are not what is measured here.
pytestmark = pytest.mark.filterwarnings("ignore")


@dataclass(frozen=True)
class Case:
    name: str  # function name, in fastml.metrics and (batch_ aside) in sklearn.metrics
    kwargs: dict = field(default_factory=dict)
    data: str = "score"  # "score": (y_true, y_score); "pred": (y_true, y_pred)
    sizes: str = "fast"  # size class: "fast" (vectorised reference), "rowloop", "batch"

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.name}({args})" if args else self.name

    @property
    def id(self) -> str:
        return "-".join([self.name, *map(str, self.kwargs.values())])


CASES = [
    Case("hamming_loss", data="pred"),
    *(Case("average_precision_score", {"average": a}) for a in ("macro", "micro", "weighted")),
    Case("average_precision_score", {"average": "samples"}, sizes="rowloop"),
    Case("roc_auc_score", {"average": "macro"}),
    Case("label_ranking_average_precision_score", sizes="rowloop"),
    Case("coverage_error"),
    Case("label_ranking_loss", sizes="rowloop"),
    *(Case("f1_score", {"average": a}, data="pred") for a in ("micro", "macro", "samples")),
    Case("precision_recall_fscore_support", {"average": "macro"}, data="pred"),
    # batches: fastml's batch_X(y_true, batch) against [sklearn X(y_true, b) for b in batch]
    Case("batch_average_precision_score", sizes="batch"),
    Case("batch_hamming_loss", data="pred", sizes="batch"),
]

# Shapes per size set and size class. "rowloop" references loop over rows in Python (LRAP,
# ranking loss, 'samples' AP): minutes at 10^6 rows, so the default set keeps them smaller.
SHAPES = {
    "tiny": {
        "fast": [Shape(2_000, 20), Shape(200, 500), Shape(2_000, 14, "cxr")],
        "rowloop": [Shape(500, 20), Shape(100, 500), Shape(500, 14, "cxr")],
        "batch": [Shape(1_000, 20, batch=3), Shape(100, 500, batch=2)],
    },
    "default": {
        "fast": [
            Shape(100_000, 20),
            Shape(2_000, 2_000),
            Shape(100_000, 14, "cxr"),
            Shape(300_000, 14, "cxr"),
        ],
        "rowloop": [Shape(20_000, 20), Shape(2_000, 2_000), Shape(20_000, 14, "cxr")],
        "batch": [
            Shape(20_000, 20, batch=8),
            Shape(2_000, 2_000, batch=4),
            Shape(20_000, 14, "cxr", batch=8),
        ],
    },
    "full": {
        "fast": (
            full := [
                Shape(1_000_000, 20),
                Shape(100_000, 100),
                Shape(10_000, 5_000),
                Shape(1_000_000, 14, "cxr"),
            ]
        ),
        "rowloop": full,
        "batch": [
            Shape(1_000_000, 20, batch=4),
            Shape(100_000, 100, batch=8),
            Shape(10_000, 5_000, batch=2),
            Shape(1_000_000, 14, "cxr", batch=4),
        ],
    },
}


def pytest_generate_tests(metafunc):
    shapes = SHAPES[metafunc.config.getoption("sizes")]
    metafunc.parametrize(
        ("case", "shape", "impl"),
        [
            pytest.param(case, shape, impl, id=f"{case.id}-{shape.id}-{impl}")
            for case in CASES
            for shape in shapes[case.sizes]
            for impl in ("reference", "fastml")
        ],
    )


@functools.lru_cache(maxsize=1)
def inputs(data: str, shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_score = scored(shape)
    return (y_true, predicted(y_score)) if data == "pred" else (y_true, y_score)


def reference(name: str):
    if not name.startswith("batch_"):
        return getattr(sklearn.metrics, name)
    one = getattr(sklearn.metrics, name.removeprefix("batch_"))

    def loop(y_true, batch, **kwargs):
        return np.array([one(y_true, b, **kwargs) for b in batch])

    return loop


def test_metric(timed, case, shape, impl):
    y_true, y_other = inputs(case.data, shape)
    m = min(shape.rows, max(500, shape.rows // 100))  # rows of the warm-up probe
    if shape.batch:
        probe = (y_true[:m], np.ascontiguousarray(y_other[:, :m]))
    else:
        probe = (y_true[:m], y_other[:m])
    metric = getattr(fastml.metrics, case.name) if impl == "fastml" else reference(case.name)
    fn = functools.partial(metric, **case.kwargs)
    timed(
        impl,
        fn,
        (y_true, y_other),
        probe,
        shape.rows / m,
        case=case.label,
        shape=shape,
        spy=("sklearn.metrics", case.name.removeprefix("batch_")),
    )
