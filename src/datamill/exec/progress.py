"""Progress reporting: workers send counts through a queue, the parent draws bars with rate and ETA."""

from __future__ import annotations

import os
import time
from typing import Any, Protocol

_QUEUE: Any = None  # set in worker processes by the pool initializer
_PARENT: int | None = None
_PENDING: dict[str, int] = {}
_LAST_SENT = 0.0


def init_worker(queue: Any, parent: int | None = None) -> None:
    """Pool initializer. ``parent`` is the run's pid: a worker whose parent died (killed run) exits
    at its next progress tick instead of finishing work nobody will collect. A pool worker ignores
    Ctrl-C: the terminal sends it to the whole process group, and stopping the pool is the parent's job
    (an idle worker would otherwise die printing a KeyboardInterrupt traceback)."""
    global _QUEUE, _PARENT
    _QUEUE = queue
    _PARENT = parent
    if parent is not None:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


def tick(key: str, n: int = 1) -> None:
    """Record ``n`` units of progress for ``key``; sent to the parent at most every 0.2 s."""
    global _LAST_SENT
    _PENDING[key] = _PENDING.get(key, 0) + n
    now = time.monotonic()
    if now - _LAST_SENT >= 0.2:
        if _PARENT is not None and os.getppid() != _PARENT:
            os._exit(3)
        flush()
        _LAST_SENT = now


TOTAL = "\x00total"


def set_total(key: str, total: int) -> None:
    """Set (or change) the total of ``key``'s bar, e.g. once a step knows how much work it has."""
    flush()
    if _QUEUE is not None:
        _QUEUE.put((TOTAL, (key, total)))


def report(key: str, done: int, total: int | None) -> None:
    """A step's progress inside ``reduce`` (``StepContext.reporter``): a new total and/or ``done`` more."""
    if total is not None:
        set_total(key, total)
    if done:
        tick(key, done)


def flush() -> None:
    if _QUEUE is None:
        _PENDING.clear()
        return
    for key, n in _PENDING.items():
        if n:
            _QUEUE.put((key, n))
    _PENDING.clear()


class ProgressSink(Protocol):
    def start(self, key: str, description: str, total: float | None, unit: str) -> None: ...
    def set_total(self, key: str, total: float) -> None: ...
    def advance(self, key: str, n: float) -> None: ...
    def finish(self, key: str) -> None: ...
    def log(self, message: str) -> None: ...
    def close(self) -> None: ...


class QuietProgress:
    """No bars; log lines are kept (and returned in the summary) but not printed."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def start(self, key: str, description: str, total: float | None, unit: str) -> None:
        pass

    def advance(self, key: str, n: float) -> None:
        pass

    def set_total(self, key: str, total: float) -> None:
        pass

    def finish(self, key: str) -> None:
        pass

    def log(self, message: str) -> None:
        self.messages.append(message)

    def close(self) -> None:
        pass


class RichProgress:
    """Rich progress bars on stderr: description, bar, done/total, rate, elapsed and ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._tasks: dict[str, Any] = {}
        self._units: dict[str, str] = {}
        self.messages: list[str] = []

    def start(self, key: str, description: str, total: float | None, unit: str) -> None:
        self._tasks[key] = self._progress.add_task(description, total=total, rate="")
        self._units[key] = unit

    def advance(self, key: str, n: float) -> None:
        task_id = self._tasks.get(key)
        if task_id is None:
            return
        self._progress.advance(task_id, n)
        task = self._progress.tasks[task_id]
        speed = task.speed
        if speed:
            self._progress.update(task_id, rate=f"{speed:,.0f} {self._units[key]}/s")

    def set_total(self, key: str, total: float) -> None:
        task_id = self._tasks.get(key)
        if task_id is not None:
            self._progress.update(task_id, total=total)

    def finish(self, key: str) -> None:
        task_id = self._tasks.get(key)
        if task_id is not None:
            task = self._progress.tasks[task_id]
            if task.total is None or task.completed < task.total:
                self._progress.update(task_id, total=task.completed)

    def log(self, message: str) -> None:
        self.messages.append(message)
        self._progress.console.print(message, highlight=False, markup=False, soft_wrap=True)

    def close(self) -> None:
        self._progress.stop()
