"""pytest-benchmark plumbing shared by the ``benches/bench_*.py`` files.

Each benchmark case is a pair of entries in one pytest-benchmark group (``"<case> | <shape>"``):
the reference and fastml, timed on the same inputs in the same run, the reference first.
Test ids end in ``-reference`` / ``-fastml`` (the runner pairs entries and failures by them).
The ``timed`` fixture does the timing (see :func:`_timed`), records what the runner needs in
``benchmark.extra_info`` and checks that the two results agree; it never asserts a timing.

Size set: ``--sizes {tiny,default,full}`` (or the environment variable FASTML_BENCH_SIZES);
each bench file maps the set to its shapes. ``tiny`` is for smoke tests of this machinery.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from importlib import import_module

import numpy as np
import pytest

SIZE_SETS = ("tiny", "default", "full")
#: Seconds of timed calls aimed at per entry: rounds = budget / (time of one call), within
#: [1, MAX_ROUNDS]. A call slower than half the budget is timed once, without a full-size warm-up.
BUDGET_S = {"tiny": 0.2, "default": 1.5, "full": 5.0}
MAX_ROUNDS = 25
_reference_results = pytest.StashKey[dict]()
_failures: dict[str, str] = {}  # node id -> first line of the error, for the runner's table


def pytest_addoption(parser):
    parser.addoption(
        "--sizes",
        choices=SIZE_SETS,
        default=os.environ.get("FASTML_BENCH_SIZES", "default"),
        help="benchmark size set (default: $FASTML_BENCH_SIZES or 'default')",
    )


def pytest_configure(config):
    config.stash[_reference_results] = {}


def pytest_runtest_logreport(report):
    if report.failed and report.nodeid not in _failures:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash else str(report.longrepr)
        _failures[report.nodeid] = message.strip().splitlines()[0] if message.strip() else "?"


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Add ``failures`` (node id -> error) to the JSON: a case whose fastml entry failed
    before it was timed (a missing function, say) has no entry of its own."""
    output_json["failures"] = dict(_failures)


@pytest.fixture
def timed(benchmark, request):
    """``timed(impl, fn, args, probe_args, probe_scale, case=, shape=, spy=None)`` -> result.

    See :func:`_timed`.
    """

    def run(impl, fn, args, probe_args, probe_scale, *, case, shape, spy=None):
        return _timed(benchmark, request, impl, fn, args, probe_args, probe_scale, case, shape, spy)

    return run


def _clock(fn: Callable, args: tuple) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _timed(benchmark, request, impl, fn, args, probe_args, probe_scale, case, shape, spy):
    """Time ``fn(*args)`` as the ``impl`` entry of the pair ``case`` / ``shape``.

    1. Warm-up on ``probe_args`` (a slice of the rows): imports, code paths, and for fastml the
       first-use costs. Its time times ``probe_scale`` estimates one full-size call.
    2. A full-size warm-up call, always for fastml (so compile and first-touch costs are out of
       the timings) and for the reference when the estimate is under half the budget.
       ``spy=(module, name)``: during fastml's warm-up, count calls of ``module.name``; a call
       means fastml handed the input to its reference, noted as ``fell_back``.
    3. ``benchmark.pedantic``: rounds of one call each, as many as fit the budget (at least 1).
    Then fastml's result is compared with the reference's (np.allclose, rtol 1e-9).
    """
    budget = BUDGET_S[request.config.getoption("sizes")]
    key = (request.module.__name__, case, shape.id)
    benchmark.group = f"{case} | {shape.id}"
    info = benchmark.extra_info
    info.update(
        hot_path=request.module.__name__.removeprefix("bench_"),
        case=case,
        shape=shape.text,
        prevalence=shape.prevalence,
        impl=impl,
    )
    estimate = _clock(fn, probe_args) * probe_scale
    info["probe_s"] = round(estimate / probe_scale, 6)
    if impl == "fastml" or estimate < budget / 2:
        with _counting(spy if impl == "fastml" else None) as calls:
            estimate = _clock(fn, args)
        if calls:
            info["fell_back"] = True
    rounds = max(1, min(MAX_ROUNDS, int(budget / max(estimate, 1e-9))))
    result = benchmark.pedantic(fn, args, rounds=rounds, iterations=1)

    results = request.config.stash[_reference_results]
    if impl == "reference":
        results[key] = result
        info["check"] = "reference"
        return result
    if key not in results:
        info["check"] = "unchecked"  # the reference entry was not selected
        return result
    ok = _agree(result, results.pop(key))
    info["check"] = "ok" if ok else "MISMATCH"
    assert ok, f"fastml and the reference disagree on {case} {shape.id}"
    return result


@contextlib.contextmanager
def _counting(spy):
    """Count calls of ``module.name`` (``spy=(module, name)``) inside the block; ``[]`` if None."""
    calls: list[int] = []
    if spy is None:
        yield calls
        return
    module = import_module(spy[0])
    original = getattr(module, spy[1])

    def wrapper(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    setattr(module, spy[1], wrapper)
    try:
        yield calls
    finally:
        setattr(module, spy[1], original)


def _agree(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (
            isinstance(a, tuple)
            and isinstance(b, tuple)
            and len(a) == len(b)
            and all(_agree(x, y) for x, y in zip(a, b, strict=True))
        )
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
