"""People's review decisions, stored append-only in the work directory (``review/decisions.jsonl``).

Each line is one event: who, when, which item (a record id, or a dedup cluster), the decision
(``accept``, ``reject``, ``edit``) with the edited fields and their values before, or an ``undo`` that
names the event it takes back. Nothing is ever rewritten: the current decision of a reviewer on an item
is their latest event on it that was not undone, and the item's decision is the latest of those over all
reviewers. Writers hold an exclusive lock (``fcntl.flock``) while appending, so two servers on one run
never interleave lines, and each line is flushed to disk before the request is answered.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from datamill.errors import InputError

FILE = "decisions.jsonl"
DECISIONS = ("accept", "reject", "edit")
Decision = Literal["accept", "reject", "edit"]


@dataclass(frozen=True)
class Event:
    """One line of the decisions file."""

    event: str
    at: str
    reviewer: str
    item: str  # "record" or "cluster"
    id: str
    decision: str  # accept | reject | edit | undo
    stage: str | None = None
    edit: dict[str, Any] | None = None
    original: dict[str, Any] | None = None
    target: str | None = None  # undo: the event taken back

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(str(data["event"]), str(data["at"]), str(data["reviewer"]), str(data["item"]), str(data["id"]),
                   str(data["decision"]), data.get("stage"), data.get("edit"), data.get("original"), data.get("target"))


@dataclass
class State:
    """Decisions folded from the events: per (reviewer, item, id) the live one."""

    events: list[Event] = field(default_factory=list)
    undone: set[str] = field(default_factory=set)

    def add(self, event: Event) -> None:
        self.events.append(event)
        if event.decision == "undo" and event.target:
            self.undone.add(event.target)

    def live(self, item: str = "record") -> dict[tuple[str, str], Event]:
        """``(reviewer, id) -> event``: each reviewer's latest decision per item that is not undone."""
        out: dict[tuple[str, str], Event] = {}
        for e in self.events:
            if e.item == item and e.decision in DECISIONS and e.event not in self.undone:
                out[(e.reviewer, e.id)] = e
        return out

    def effective(self, item: str = "record", reviewer: str | None = None) -> dict[str, Event]:
        """``id -> event``: the latest live decision on each item over all reviewers (or one)."""
        position = {e.event: i for i, e in enumerate(self.events)}
        out: dict[str, Event] = {}
        for (who, item_id), e in self.live(item).items():
            if reviewer is not None and who != reviewer:
                continue
            if item_id not in out or position[e.event] > position[out[item_id].event]:
                out[item_id] = e
        return out

    def last_of(self, reviewer: str) -> Event | None:
        """The reviewer's latest decision still in force (what their next undo takes back)."""
        for e in reversed(self.events):
            if e.reviewer == reviewer and e.decision in DECISIONS and e.event not in self.undone:
                return e
        return None


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _events(lines: Iterable[bytes], path: Path) -> Iterator[Event]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
            yield Event.from_json(data)
        except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
            if not line.endswith(b"\n"):  # the last line of a writer killed mid-write: not a decision yet
                continue
            raise InputError(f"{path}:{n} is not a review decision ({exc})",
                             hint="the file is append-only JSON Lines written by datamill review; restore it") from exc


class DecisionStore:
    """The decisions of one work directory: read on open, appended under a lock, thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / FILE
        self._lock = threading.Lock()
        self.state = State()
        self._offset = 0
        self._refresh()

    def _refresh(self) -> None:
        """Read events appended since the last read (by this or another process)."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a partial last line is read again next time
        for event in _events(data[:end].splitlines(keepends=True), self.path):
            self.state.add(event)
        self._offset += end

    def append(self, event: Event) -> Event:
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    self._refresh()
                    fh.write(orjson.dumps(event.to_json()) + b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
            self._refresh()
        return event

    def decide(self, reviewer: str, item_id: str, decision: str, *, item: str = "record", stage: str | None = None,
               edit: dict[str, Any] | None = None, original: dict[str, Any] | None = None) -> Event:
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
        return self.append(Event(uuid.uuid4().hex, now(), reviewer, item, item_id, decision, stage,
                                 edit if decision == "edit" else None, original if decision == "edit" else None))

    def undo(self, reviewer: str) -> Event | None:
        """Take back the reviewer's latest decision in force; returns it (None when there is none)."""
        with self._lock:
            self._refresh()
            last = self.state.last_of(reviewer)
        if last is None:
            return None
        self.append(Event(uuid.uuid4().hex, now(), reviewer, last.item, last.id, "undo", last.stage, target=last.event))
        return last

    def snapshot(self) -> State:
        with self._lock:
            self._refresh()
            return State(list(self.state.events), set(self.state.undone))

    def import_events(self, path: Path) -> int:
        """Append the events of an exported file that this store lacks (by event id); returns how many."""
        known = {e.event for e in self.snapshot().events}
        added = 0
        with open(path, "rb") as fh:
            for event in _events(fh, path):
                if event.event not in known:
                    self.append(event)
                    known.add(event.event)
                    added += 1
        return added


def export_lines(state: State, *, all_events: bool = False) -> Iterator[bytes]:
    """JSON Lines of the decisions in force (one per reviewer and item), or of every event."""
    if all_events:
        for e in state.events:
            yield orjson.dumps(e.to_json()) + b"\n"
        return
    for item in ("record", "cluster"):
        for e in state.live(item).values():
            yield orjson.dumps(e.to_json()) + b"\n"


def load_effective(folder: Path, reviewer: str | None = None) -> dict[str, Event]:
    """The record decisions in force in ``folder`` (empty when nobody reviewed yet)."""
    if not (folder / FILE).exists():
        return {}
    return DecisionStore(folder).snapshot().effective("record", reviewer)
