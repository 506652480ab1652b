"""Review decisions: append-only, folded into the decision in force, undo, restarts, concurrent writers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import orjson
import pytest

from datamill.errors import InputError
from datamill.review.store import FILE, DecisionStore, export_lines, load_effective


def test_latest_decision_wins_and_undo_takes_it_back(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.decide("ann", "r1", "accept")
    store.decide("ann", "r1", "reject")
    store.decide("bob", "r2", "edit", edit={"answer": "fixed"}, original={"answer": "broken"})
    state = store.snapshot()
    assert {k: e.decision for k, e in state.effective().items()} == {"r1": "reject", "r2": "edit"}
    undone = store.undo("ann")
    assert undone is not None and undone.decision == "reject"
    assert store.snapshot().effective()["r1"].decision == "accept"
    assert store.undo("ann") is not None  # the accept
    assert "r1" not in store.snapshot().effective()
    assert store.undo("ann") is None
    lines = (tmp_path / FILE).read_bytes().splitlines()
    assert len(lines) == 5  # nothing rewritten: 3 decisions + 2 undos
    events = [orjson.loads(x) for x in lines]
    assert [e["decision"] for e in events] == ["accept", "reject", "edit", "undo", "undo"]
    assert events[3]["target"] == events[1]["event"] and events[4]["target"] == events[0]["event"]
    assert all({"at", "reviewer", "id", "decision", "event"} <= set(e) for e in events)
    assert events[2]["edit"] == {"answer": "fixed"} and events[2]["original"] == {"answer": "broken"}


def test_decisions_survive_a_restart_and_other_reviewers_are_kept_apart(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.decide("ann", "r1", "reject")
    store.decide("bob", "r1", "accept")
    reopened = DecisionStore(tmp_path)
    assert reopened.snapshot().effective()["r1"].reviewer == "bob"
    assert load_effective(tmp_path, reviewer="ann")["r1"].decision == "reject"
    assert reopened.undo("bob") is not None
    assert load_effective(tmp_path)["r1"].reviewer == "ann"
    assert load_effective(tmp_path / "nobody") == {}


def _writer(folder: str, reviewer: str, n: int) -> None:
    store = DecisionStore(Path(folder))
    for i in range(n):
        store.decide(reviewer, f"{reviewer}-{i}", "accept" if i % 2 else "reject")


def test_two_processes_append_without_interleaving(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), name, 150)) for name in ("ann", "bob")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = (tmp_path / FILE).read_bytes().splitlines()
    assert len(lines) == 300
    assert len({orjson.loads(x)["id"] for x in lines}) == 300
    assert len(DecisionStore(tmp_path).snapshot().effective()) == 300


def test_a_half_written_last_line_is_not_a_decision_yet(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    store.decide("ann", "r1", "accept")
    with open(tmp_path / FILE, "ab") as fh:
        fh.write(b'{"event": "x", "at": "2026", "reviewer": "bob", "item": "record", "id": "r2", "deci')
    assert set(DecisionStore(tmp_path).snapshot().effective()) == {"r1"}
    with open(tmp_path / FILE, "ab") as fh:
        fh.write(b'sion": "reject"}\n')
    assert set(DecisionStore(tmp_path).snapshot().effective()) == {"r1", "r2"}


def test_a_damaged_line_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / FILE).write_bytes(b'{"event": "a", "at": "t", "reviewer": "x", "item": "record", "id": "r", '
                                  b'"decision": "accept"}\nnot json\n')
    with pytest.raises(InputError, match=rf"{FILE}:2"):
        DecisionStore(tmp_path)


def test_export_and_import_carry_decisions_to_another_run(tmp_path: Path) -> None:
    a = DecisionStore(tmp_path / "a")
    a.decide("ann", "r1", "accept")
    a.decide("ann", "r2", "reject")
    a.decide("ann", "c1", "accept", item="cluster")
    a.undo("ann")
    exported = tmp_path / "out.jsonl"
    exported.write_bytes(b"".join(export_lines(a.snapshot())))
    assert len(exported.read_bytes().splitlines()) == 2  # in force only: the cluster decision was undone
    assert len(b"".join(export_lines(a.snapshot(), all_events=True)).splitlines()) == 4
    b = DecisionStore(tmp_path / "b")
    assert b.import_events(exported) == 2
    assert b.import_events(exported) == 0  # idempotent
    assert {k: e.decision for k, e in b.snapshot().effective().items()} == {"r1": "accept", "r2": "reject"}
