"""``check_leakage`` against evaluation sets: read them, sign them like the records, and find for each
training record the most similar evaluation record of its group.

The evaluation records join the dedup reduce as extra shards after the training shards, so they are
grouped by exactly the same method (MinHash + LSH, exact text, or embeddings). Groups are connected
components, so a training record can share a group with an evaluation record it is not itself similar
to (A ~ B ~ C); a training record is a leak only when its most similar evaluation record of the group
reaches the method's threshold. Those linked but below it are counted, not dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from datamill.errors import InputError, StepError
from datamill.recipe.model import InputSpec
from datamill.records import Record
from datamill.steps.base import ShardSignatures
from datamill.steps.dedup.groups import Grouping

#: evaluation records signed per call, in the run's main process. Below 256 rows rensa signs on the calling
#: thread; from 256 on it starts its (rayon) thread pool, and a worker process forked later from a process
#: whose pool started hangs in its first large batch (measured with rensa 0.5.0)
BATCH = 128
#: pairs compared at once when a group holds many training and evaluation records
PAIR_CHUNK = 2_000_000
SHARD_PREFIX = "reference:"


class Signer(Protocol):
    def signature_batch(self, records: Sequence[Record]) -> list[Any]: ...


@dataclass
class ReferenceSet:
    """One evaluation set as read: its records' count, and the rows that could not be read."""

    name: str
    records: int = 0
    unreadable: int = 0
    errors: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "records": self.records, "unreadable": self.unreadable}
        if self.errors:
            out["unreadable_examples"] = self.errors
        return out


def sign_references(specs: Sequence[InputSpec], signer: Signer) -> tuple[list[ShardSignatures[Any]],
                                                                         list[ReferenceSet]]:
    """Every evaluation set read with the normal readers and signed by ``signer``, one shard each.

    Raises :class:`StepError` when a set yields no record: an empty reference would report no leak."""
    from datamill.formats.input_records import Unreadable, input_records

    shards: list[ShardSignatures[Any]] = []
    sets: list[ReferenceSet] = []
    for spec in specs:
        name = spec.name or spec.paths()[0]
        found = ReferenceSet(name)
        signatures: list[Any] = []
        batch: list[Record] = []
        try:
            rows: Iterator[Record | Unreadable] = input_records(spec, Path.cwd(), name)
            for row in rows:
                if isinstance(row, Unreadable):
                    found.unreadable += 1
                    if len(found.errors) < 5:
                        found.errors.append(f"{row.location}: {row.error}")
                    continue
                batch.append(row)
                if len(batch) >= BATCH:
                    signatures.extend(signer.signature_batch(batch))
                    batch = []
            if batch:
                signatures.extend(signer.signature_batch(batch))
        except InputError as exc:
            raise StepError(f"check_leakage: reference '{name}': {exc.message}", hint=exc.hint) from None
        found.records = len(signatures)
        if not signatures:
            raise StepError(f"check_leakage: reference '{name}' ({', '.join(spec.paths())}) holds no readable "
                            f"record ({found.unreadable} rows could not be read)",
                            hint="check the path and the format; an empty evaluation set would report no leak")
        shards.append(ShardSignatures(SHARD_PREFIX + name, signatures))
        sets.append(found)
    return shards, sets


@dataclass
class Matches:
    """Training records (positions) whose group holds an evaluation record, with the most similar one."""

    train: np.ndarray
    reference: np.ndarray
    similarity: np.ndarray


def best_matches(g: Grouping, n_train: int) -> Matches:
    """For each training record (positions ``< n_train``) in a group with an evaluation record (positions
    ``>= n_train``): the group's evaluation record most similar to it, and that similarity."""
    labels = np.asarray(g.labels, dtype=np.int64)
    n = len(labels)
    if n == n_train:
        empty = np.zeros(0, dtype=np.int64)
        return Matches(empty, empty, np.zeros(0))
    ref_pos = np.arange(n_train, n, dtype=np.int64)
    ref_sorted = ref_pos[np.argsort(labels[ref_pos], kind="stable")]
    ref_labels = labels[ref_sorted]
    has_ref = np.zeros(int(labels.max()) + 1, dtype=bool)
    has_ref[ref_labels] = True
    cand = np.flatnonzero(has_ref[labels[:n_train]])
    lo = np.searchsorted(ref_labels, labels[cand], side="left")
    counts = np.searchsorted(ref_labels, labels[cand], side="right") - lo
    best_ref = np.zeros(len(cand), dtype=np.int64)
    best_sim = np.full(len(cand), -np.inf)
    start = 0
    while start < len(cand):  # chunks of candidates whose pairs fit in PAIR_CHUNK
        cum = np.cumsum(counts[start:])
        stop = start + max(1, int(np.searchsorted(cum, PAIR_CHUNK, side="right")))
        c = counts[start:stop]
        owner = np.repeat(np.arange(start, stop), c)
        within = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        b = ref_sorted[np.repeat(lo[start:stop], c) + within]
        sims = np.asarray(g.similarity(cand[owner], b), dtype=np.float64)
        order = np.lexsort((-sims, owner))  # per candidate, the most similar first
        first = np.ones(len(order), dtype=bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        pick = order[first]
        best_ref[owner[pick]] = b[pick]
        best_sim[owner[pick]] = sims[pick]
        start = stop
    return Matches(cand, best_ref, np.round(best_sim, 4))
