"""The one parallel driver of the CPU kernels.

Every compiled kernel that splits its work does it the same way: the work is cut into tasks
whose number and bounds depend only on the input's shape (:func:`blocks`), each task is a call
of a compiled function that releases the GIL, a small pool of Python threads runs the tasks,
and the per-task results come back in task order (:func:`map_tasks`), so any reduction over
them is applied in a fixed order. Results are therefore identical for every thread count.

Why Python threads and not OpenMP: a pool of plain threads that wait on a condition costs
nothing while idle (OpenMP runtimes spin-wait, which costs milliseconds per call on a busy
machine), needs no threading runtime at build time, and can be forgotten in a forked child:
a child process starts with no pool and makes its own on first use.

Thread count: ``FASTML_NUM_THREADS`` (read at import), else the CPUs this process may run on;
:func:`set_num_threads` changes it at run time. ``threadpoolctl``'s limits are not read.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def _default_threads() -> int:
    env = os.environ.get("FASTML_NUM_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value >= 1:
            return value
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_n_threads = _default_threads()
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def get_num_threads() -> int:
    """Number of threads the kernels use."""
    return _n_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (``n >= 1``) in every kernel from now on."""
    global _n_threads
    n = int(n)
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    _n_threads = n


def _forget_pool() -> None:
    # A forked child has none of the parent's pool threads: it makes its own on first use.
    global _pool, _pool_size, _lock
    _pool = None
    _pool_size = 0
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _executor(n_workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < n_workers:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="fastml")
            _pool_size = n_workers
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def blocks(n: int, min_size: int, max_blocks: int = 256) -> tuple[int, int]:
    """``(count, size)``: cut ``n`` items into ``count`` blocks of ``size`` (the last shorter).

    Blocks hold at least ``min_size`` items (one block when ``n <= min_size``) and there are
    at most ``max_blocks``; both numbers depend on ``n`` only.
    """
    if n <= 0:
        return 1, 0
    count = min(max(1, max_blocks), max(1, n // max(1, min_size)))
    size = -(-n // count)
    return -(-n // size), size


#: Bytes of input below which a call runs on the calling thread alone: waking a pool thread
#: costs about 0.1 ms, about what one thread takes to stream this much memory.
PARALLEL_MIN_BYTES = 1 << 23


def map_tasks(fn: Callable[[int], Any], n_tasks: int, n_threads: int | None = None,
              nbytes: int | None = None, first: Callable[[], Any] | None = None) -> list:
    """``[fn(0), ..., fn(n_tasks - 1)]``, the calls shared out to the thread pool.

    ``fn`` should release the GIL for its work (compiled ``nogil`` code). The calling thread
    works too; with one thread or one task everything runs on the calling thread, and so
    does a call whose input (``nbytes``, when the caller gives it) is under
    :data:`PARALLEL_MIN_BYTES`. The tasks and their order are the same either way, so the
    results are too. The first exception raised by a task is re-raised here after every
    started task has finished. ``first``, when given, is called once by the calling thread
    before it takes tasks (the pool threads start on them meanwhile): work of the caller's
    own, such as filling memory that the caller's thread should be the one to touch.
    """
    threads = min(n_tasks, _n_threads if n_threads is None else max(1, n_threads))
    if nbytes is not None and nbytes < PARALLEL_MIN_BYTES:
        threads = 1
    if threads <= 1:
        if first is not None:
            first()
        return [fn(t) for t in range(n_tasks)]

    results: list = [None] * n_tasks
    errors: list[BaseException] = []
    state = {"next": 0, "done": 0}
    cond = threading.Condition()

    def work() -> None:
        while True:
            with cond:
                t = state["next"]
                if t >= n_tasks or errors:
                    return
                state["next"] = t + 1
            try:
                results[t] = fn(t)
            except BaseException as exc:  # re-raised by the caller
                with cond:
                    errors.append(exc)
            with cond:
                state["done"] += 1
                cond.notify_all()

    pool = _executor(threads - 1)
    for _ in range(threads - 1):
        pool.submit(work)
    if first is not None:
        try:
            first()
        except BaseException as exc:  # re-raised below, once the started tasks are done
            with cond:
                errors.append(exc)
    work()
    with cond:
        # Wait for the tasks, not for the helper loops: a loop that starts late (its pool
        # thread busy with another caller's tasks) finds nothing left and returns.
        while state["done"] < min(state["next"], n_tasks):
            cond.wait()
    if errors:
        raise errors[0]
    return results


def reduce_tasks(
    fn: Callable[[int], Any],
    n_tasks: int,
    combine: Callable[[Any, Any], Any],
    n_threads: int | None = None,
) -> Any:
    """``combine(...combine(fn(0), fn(1))..., fn(n_tasks - 1))``: tasks in parallel, the
    reduction in task order (so the result does not depend on the thread count)."""
    parts = map_tasks(fn, n_tasks, n_threads)
    acc = parts[0]
    for part in parts[1:]:
        acc = combine(acc, part)
    return acc


def run_blocks(fn: Callable[[int, int], Any], n: int, min_size: int, max_blocks: int = 256,
               n_threads: int | None = None) -> list:
    """``fn(lo, hi)`` over the blocks of :func:`blocks` (``n`` items), results in block order."""
    count, size = blocks(n, min_size, max_blocks)
    return map_tasks(lambda b: fn(b * size, min(n, (b + 1) * size)), count, n_threads)


__all__: Sequence[str] = [
    "blocks", "get_num_threads", "map_tasks", "reduce_tasks", "run_blocks", "set_num_threads",
]
