"""The local executor: a process pool over tasks, progress forwarded from the workers (see
:mod:`datamill.exec.executor` for the protocol it implements)."""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_mod
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from datamill.exec import progress
from datamill.exec.progress import ProgressSink

R = TypeVar("R")


class _QueueChannel:
    """A pool worker's progress channel: the pool's queue to the run's process. A worker whose run died
    (killed with SIGKILL) exits at its next message instead of finishing work nobody will collect."""

    def __init__(self, queue: Any, parent: int) -> None:
        self.queue = queue
        self.parent = parent

    def put(self, item: tuple[str, Any]) -> None:
        if os.getppid() != self.parent:
            os._exit(3)
        self.queue.put(item)


def _init_worker(queue: Any, parent: int) -> None:
    """Pool initializer: progress goes to the parent through ``queue``. A pool worker ignores Ctrl-C: the
    terminal sends it to the whole process group, and stopping the pool is the parent's job (an idle worker
    would otherwise die printing a KeyboardInterrupt traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    progress.install(_QueueChannel(queue, parent))


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """Runs tasks in ``workers`` forked processes (in this process when ``workers == 1``)."""

    shares_services = False  # LLM steps run in one process here: its limiter and cache see every call

    def __init__(self, workers: int | None, sink: ProgressSink) -> None:
        self.workers = workers or default_workers()
        self.sink = sink
        self._pool: ProcessPoolExecutor | None = None
        self._queue: Any = None
        self._limited: dict[int, LocalExecutor] = {}

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("fork")
            self._queue = ctx.Queue()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_init_worker,
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
            progress.deliver(self.sink, item)

    def shared_services(self) -> None:
        return None

    def limited(self, cap: int) -> LocalExecutor:
        """A pool of ``cap`` processes (this process when 1), kept until :meth:`shutdown`."""
        if cap >= self.workers:
            return self
        if cap not in self._limited:
            self._limited[cap] = LocalExecutor(cap, self.sink)
        return self._limited[cap]

    def call(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn`` in this process, forwarding its progress ticks to the sink."""
        return progress.call_with_sink(self.sink, fn, *args)

    def map(self, fn: Callable[..., R], tasks: Sequence[tuple[Any, ...]]) -> list[R]:
        """Call ``fn(*args)`` for every args tuple; results in task order. The first error is raised."""
        if not tasks:
            return []
        if self.workers == 1:
            return [self.call(fn, *args) for args in tasks]
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

    def describe(self) -> list[str]:
        """Nothing to add: every task ran on this machine."""
        return []

    def shutdown(self, kill: bool = False) -> None:
        for sub in self._limited.values():
            sub.shutdown(kill)
        self._limited.clear()
        if self._pool is not None:
            if kill:
                for proc in list(getattr(self._pool, "_processes", {}).values()):
                    proc.kill()
            self._pool.shutdown(wait=not kill, cancel_futures=True)
            self._pool = None
        if self._queue is not None:
            self._queue.close()
            self._queue = None
