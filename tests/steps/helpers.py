"""Run steps the way an executor does, in one process: shards, signatures, reduce, apply.

Steps and plans go through pickle on the way to "workers" (as with a process pool), and input
records are deep-copied so a test's table is never changed by the step under test.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterable, Sequence
from typing import Any

from datamill.records import Record
from datamill.steps.base import Drop, GlobalStep, RowStep, ShardSignatures

Dropped = list[tuple[Record, Drop]]


def run_row_step(step: RowStep[Any], records: Iterable[Record]) -> tuple[list[Record], Dropped]:
    """Process every record with a pickled copy of ``step``; return (kept, [(record, drop), ...])."""
    worker: RowStep[Any] = pickle.loads(pickle.dumps(step))
    worker.setup()
    kept: list[Record] = []
    dropped: Dropped = []
    for record in records:
        original = copy.deepcopy(record)
        result = worker.process(copy.deepcopy(record))
        if isinstance(result, Drop):
            dropped.append((original, result))
        else:
            kept.append(result)
    return kept, dropped


def shard(records: Sequence[Record], shard_size: int) -> list[tuple[str, list[Record]]]:
    return [(f"shard-{i // shard_size:05d}", [copy.deepcopy(r) for r in records[i:i + shard_size]])
            for i in range(0, len(records), shard_size)]


def run_global_step(
    step: GlobalStep[Any, Any, Any], records: Sequence[Record], shard_size: int
) -> tuple[list[Record], Dropped]:
    """Signature phase per shard, one reduce over the shards in order, then apply per shard."""
    shards = shard(records, shard_size)
    worker: GlobalStep[Any, Any, Any] = pickle.loads(pickle.dumps(step))
    worker.setup()
    # as the engine: signatures in batches, packed by the step, pickled to the reduce
    signatures = [ShardSignatures(name, worker.pack([s for i in range(0, len(rows), 7)
                                                     for s in worker.signature_batch(rows[i:i + 7])]))
                  for name, rows in shards]
    signatures = pickle.loads(pickle.dumps(signatures))
    reduced = step.reduce(iter(signatures))
    plans = reduced if isinstance(reduced, dict) else dict(reduced)  # a reduce may yield (shard, plan) pairs
    assert set(plans) == {name for name, _ in shards}, "reduce must return a plan for every shard"
    kept: list[Record] = []
    dropped: Dropped = []
    for name, rows in shards:
        plan = pickle.loads(pickle.dumps(plans[name]))
        for index, record in enumerate(rows):
            original = copy.deepcopy(record)
            result = worker.apply(record, index, plan)
            if isinstance(result, Drop):
                dropped.append((original, result))
            else:
                kept.append(result)
    return kept, dropped


def ids(records: Iterable[Record]) -> list[str]:
    return [r["id"] for r in records]


def reasons(dropped: Dropped) -> dict[str, str]:
    return {record["id"]: drop.reason for record, drop in dropped}


def chat(id_: str, prompt: str, answer: str, **extra: Any) -> Record:
    """A small canonical SFT record."""
    return {
        "id": id_,
        "kind": "sft",
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
        **extra,
    }
