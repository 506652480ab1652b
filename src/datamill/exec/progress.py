"""Progress reporting: task code counts with :func:`tick`; the executor carries the counts to the driver's bars.

Task functions run in worker processes (a local pool, Ray workers) and report through the one *channel*
the executor installed in that process (:func:`install`): a queue to the parent for the local pool, an
actor for Ray, the sink itself for work done in the driver. Counts are batched and sent at most every
0.2 s. This is the only per-process state of the engine; threading a reporter through every task
function would change every signature and nothing else (see docs/decisions.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

R = TypeVar("R")


class Channel(Protocol):
    """Where a process's progress messages go: ``(key, n)`` advances a bar, ``(TOTAL, (key, total))`` sets
    its total. ``put`` may also end a worker whose run is gone (the local pool's orphans)."""

    def put(self, item: tuple[str, Any]) -> None: ...


_CHANNEL: Channel | None = None
_PENDING: dict[str, int] = {}
_LAST_SENT = 0.0


def install(channel: Channel | None) -> None:
    """Send this process's progress to ``channel`` (None: drop it). Called by the executor."""
    global _CHANNEL
    _CHANNEL = channel


def tick(key: str, n: int = 1) -> None:
    """Record ``n`` units of progress for ``key``; sent to the driver at most every 0.2 s."""
    global _LAST_SENT
    _PENDING[key] = _PENDING.get(key, 0) + n
    now = time.monotonic()
    if now - _LAST_SENT >= 0.2:
        flush()
        _LAST_SENT = now


TOTAL = "\x00total"


def set_total(key: str, total: int) -> None:
    """Set (or change) the total of ``key``'s bar, e.g. once a step knows how much work it has."""
    flush()
    if _CHANNEL is not None:
        _CHANNEL.put((TOTAL, (key, total)))


def report(key: str, done: int, total: int | None) -> None:
    """A step's progress inside ``reduce`` (``StepContext.reporter``): a new total and/or ``done`` more."""
    if total is not None:
        set_total(key, total)
    if done:
        tick(key, done)


def flush() -> None:
    if _CHANNEL is None:
        _PENDING.clear()
        return
    for key, n in _PENDING.items():
        if n:
            _CHANNEL.put((key, n))
    _PENDING.clear()


def deliver(sink: ProgressSink, item: tuple[str, Any]) -> None:
    """Apply one progress message to the driver's sink."""
    key, value = item
    if key == TOTAL:
        sink.set_total(*value)
    else:
        sink.advance(key, value)


class SinkChannel:
    """The channel of work done in the driver's own process: straight to the sink."""

    def __init__(self, sink: ProgressSink) -> None:
        self.sink = sink

    def put(self, item: tuple[str, Any]) -> None:
        deliver(self.sink, item)


def call_with_sink(sink: ProgressSink, fn: Callable[..., R], *args: Any) -> R:
    """Run ``fn`` in this (the driver's) process, its progress going straight to ``sink``."""
    install(SinkChannel(sink))
    try:
        return fn(*args)
    finally:
        flush()
        install(None)


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
            if not task.completed:  # a phase that counted nothing (a quick reduce): a "0/0 0%" bar says nothing
                self._progress.update(task_id, visible=False)
            elif task.total is None or task.completed < task.total:
                self._progress.update(task_id, total=task.completed)

    def log(self, message: str) -> None:
        self.messages.append(message)
        self._progress.console.print(message, highlight=False, markup=False, soft_wrap=True)

    def close(self) -> None:
        self._progress.stop()
