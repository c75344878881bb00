"""The parallel driver: order, errors, thread counts, and fork safety."""

import multiprocessing as mp
import threading

import numpy as np
import pytest

import fastml
from fastml.kernels import _parallel


def test_blocks_depend_on_size_only():
    for n in (0, 1, 5, 2047, 2048, 4097, 10**6):
        count, size = _parallel.blocks(n, 2048, 128)
        assert count >= 1
        assert count * size >= n and (count - 1) * size < max(n, 1)
        assert count <= 128


@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_map_tasks_keeps_order(threads, n_threads):
    threads(n_threads)
    seen = set()

    def task(t):
        seen.add(threading.get_ident())
        return t * t

    assert _parallel.map_tasks(task, 50) == [t * t for t in range(50)]
    assert _parallel.map_tasks(task, 0) == []


def test_map_tasks_raises_the_task_error(threads):
    threads(3)

    def task(t):
        if t == 7:
            raise KeyError("seven")
        return t

    with pytest.raises(KeyError, match="seven"):
        _parallel.map_tasks(task, 20)
    assert _parallel.map_tasks(lambda t: t, 4) == [0, 1, 2, 3]


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_map_tasks_first_runs_on_the_calling_thread(threads, n_threads):
    threads(n_threads)
    caller = threading.get_ident()
    seen = []
    out = _parallel.map_tasks(lambda t: t * t, 9, first=lambda: seen.append(threading.get_ident()))
    assert out == [t * t for t in range(9)]
    assert seen == [caller]

    def boom():
        raise KeyError("first")

    with pytest.raises(KeyError, match="first"):
        _parallel.map_tasks(lambda t: t, 5, first=boom)


def test_set_num_threads_rejects_zero():
    with pytest.raises(ValueError):
        fastml.set_num_threads(0)


def test_concurrent_callers(threads):
    threads(2)
    results = []

    def caller(k):
        results.append(sum(_parallel.map_tasks(lambda t: t + k, 100)))

    ts = [threading.Thread(target=caller, args=(k,)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert sorted(results) == sorted(4950 + 100 * k for k in range(6))


def _metric_calls(seed):
    from fastml.metrics import f1_score, hamming_loss

    rng = np.random.default_rng(seed)
    y = (rng.random((50_000, 8)) < 0.2).astype(np.int64)
    p = (rng.random((50_000, 8)) < 0.2).astype(np.int64)
    return float(hamming_loss(y, p)) + float(f1_score(y, p, average="macro"))


def test_identical_for_any_thread_count(threads):
    values = []
    for k in (1, 2, 5):
        threads(k)
        values.append(_metric_calls(3))
    assert values[0] == values[1] == values[2]


def test_fork_after_a_call_does_not_hang(threads):
    threads(2)
    expected = [_metric_calls(s) for s in range(3)]  # the parent has used its pool
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        result = pool.map_async(_metric_calls, range(3))
        assert result.get(timeout=120) == expected
