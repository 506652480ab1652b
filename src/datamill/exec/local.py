"""The local executor: a process pool over shards, progress forwarded from the workers.

The executor only maps picklable tasks to top-level functions; what a stage means (read, row step,
global step phases, export) lives in :mod:`datamill.exec.run`, so another executor (Ray) can run the
same stages by implementing :meth:`map`.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_mod
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from datamill.exec import progress
from datamill.exec.progress import ProgressSink

T = TypeVar("T")
R = TypeVar("R")


class _InlineQueue:
    """Progress queue for in-process execution: forwards straight to the sink."""

    def __init__(self, sink: ProgressSink) -> None:
        self.sink = sink

    def put(self, item: tuple[str, Any]) -> None:
        deliver(self.sink, item)


def deliver(sink: ProgressSink, item: tuple[str, Any]) -> None:
    """Apply one progress message: ``(key, n)`` advances a bar; ``(TOTAL, (key, total))`` sets its total."""
    key, value = item
    if key == progress.TOTAL:
        sink.set_total(*value)
    else:
        sink.advance(key, value)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """Runs tasks in ``workers`` processes (in this process when ``workers == 1``)."""

    def __init__(self, workers: int | None, sink: ProgressSink) -> None:
        self.workers = workers or default_workers()
        self.sink = sink
        self._pool: ProcessPoolExecutor | None = None
        self._queue: Any = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("fork")
            self._queue = ctx.Queue()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=progress.init_worker,
                initargs=(self._queue, os.getpid()),
            )
        return self._pool

    def _drain(self) -> None:
        if self._queue is None:
            return
        while True:
            try:
                item = self._queue.get_nowait()
            except queue_mod.Empty:
                return
            deliver(self.sink, item)

    def call(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn`` in this process, forwarding its progress ticks to the sink."""
        progress.init_worker(_InlineQueue(self.sink))
        try:
            return fn(*args)
        finally:
            progress.flush()
            progress.init_worker(None)

    def map(self, fn: Callable[..., R], tasks: Sequence[tuple[Any, ...]]) -> list[R]:
        """Call ``fn(*args)`` for every args tuple; results in task order. The first error is raised."""
        if not tasks:
            return []
        if self.workers == 1:
            progress.init_worker(_InlineQueue(self.sink))
            try:
                return [fn(*args) for args in tasks]
            finally:
                progress.flush()
                progress.init_worker(None)
        pool = self._ensure_pool()
        futures: list[Future[R]] = [pool.submit(fn, *args) for args in tasks]
        pending: set[Future[R]] = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_EXCEPTION)
                self._drain()
                for f in done:
                    exc = f.exception()
                    if exc is not None:
                        raise exc
        except BaseException:
            for f in pending:
                f.cancel()
            self.shutdown(kill=True)
            raise
        self._drain()
        return [f.result() for f in futures]

    def shutdown(self, kill: bool = False) -> None:
        if self._pool is not None:
            if kill:
                for proc in list(getattr(self._pool, "_processes", {}).values()):
                    proc.kill()
            self._pool.shutdown(wait=not kill, cancel_futures=True)
            self._pool = None
        if self._queue is not None:
            self._queue.close()
            self._queue = None
