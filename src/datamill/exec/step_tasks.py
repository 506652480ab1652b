"""Worker-side pieces shared by every stage: step instances per process, one stage's files for one shard
(:class:`StageSinks`: dropped records, quarantine, stats), and the signature phase of a global step over
a stored shard. The passes themselves are in :mod:`datamill.exec.segment`.
"""

from __future__ import annotations

import io
import pickle
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from datamill.exec import progress, store
from datamill.exec.shards import JsonlSink, dumps, read_shard
from datamill.exec.workdir import write_bytes_atomic, write_json_atomic
from datamill.records import Record
from datamill.report.profile import Profile, ProfileSpec, profile_path
from datamill.report.stats import StageStats
from datamill.steps.base import Drop, GlobalStep, RowStep, Step, StepContext
from datamill.steps.registry import default_registry

SIGNATURE_BATCH = 1024

#: Step instances built in this process, one per (step, params, stage): each is set up once and reused for
#: every shard of its stage. :func:`close_steps` tears them down when the run ends, so a second run in the
#: same process never sees the first run's context (its caches, its stage folder).
_STEP_CACHE: dict[tuple[str, str], Step] = {}


@dataclass(frozen=True)
class StepRef:
    """A step by name and params: rebuilt (and set up once) in each worker process."""

    name: str
    params: dict[str, Any]

    def key(self) -> str:
        return self.name + "\x00" + orjson.dumps(self.params, option=orjson.OPT_SORT_KEYS).decode()


def get_step(ref: StepRef, context: StepContext) -> Step:
    """The set-up instance of ``ref`` for the stage ``context`` belongs to, built on first use."""
    key = (ref.key(), str(context.artifacts.folder))
    step = _STEP_CACHE.get(key)
    if step is None:
        cls = default_registry().get(ref.name)
        step = cls(cls.Params.model_validate(ref.params))
        step.context = context
        step.setup()
        _STEP_CACHE[key] = step
    return step


def close_steps() -> None:
    """Tear down every step instance this process built (at the end of a run, whatever its outcome)."""
    steps = list(_STEP_CACHE.values())
    _STEP_CACHE.clear()
    for step in steps:
        step.teardown()


class StageSinks:
    """One stage's files for one shard: its dropped records, its quarantine entries and its stats.

    Everything is written to temporary files and published by :meth:`close`; the stats file last. The
    build report's profile of the shard (:mod:`datamill.report.profile`: drop examples, before/after pairs of
    changed records, and for the run's last stage composition and lengths) is collected on the way; with
    ``changes`` the records' bytes before and after the step are compared (a step that may rewrite them).
    """

    def __init__(self, stage_path: Path, label: str, shard: str, quarantine_path: Path,
                 profile: ProfileSpec | None = None, changes: bool = False) -> None:
        self.stage_path = stage_path
        self.label = label
        self.shard = shard
        self.stats = StageStats()
        self.dropped = JsonlSink(stage_path / "dropped" / f"{shard}.jsonl")
        self.quarantine = JsonlSink(quarantine_path / f"{label}-{shard}.jsonl")
        self.profile = Profile(profile)
        self.changes = changes
        #: the profile looks at every kept record (verdicts, or the full profile of the last stage)
        self._describe = self.profile.full or self.profile.verdicts is not None

    @property
    def stats_path(self) -> Path:
        return self.stage_path / f"{self.shard}.stats.json"

    def collect_notes(self, step: Step) -> None:
        """Add what the step noted (``Step.note``) to this shard's stats."""
        self.stats.notes.update(step.take_notes())

    def drop(self, record: Record, drop: Drop) -> None:
        self.profile.dropped(record, drop)
        self.stats.dropped[drop.reason] += 1
        entry: dict[str, Any] = {"reason": drop.reason}
        if drop.detail:
            entry["detail"] = drop.detail
        entry["record"] = record
        self.dropped.write(entry)

    def drop_raw(self, line: bytes, drop: Drop) -> None:
        """:meth:`drop` for a record still in its stored bytes: the same line, without decoding it."""
        self.profile.dropped_raw(line, drop)
        self.stats.dropped[drop.reason] += 1
        head = {"reason": drop.reason, "detail": drop.detail} if drop.detail else {"reason": drop.reason}
        self.dropped.write_line(dumps(head)[:-2] + b',"record":' + line + b"}\n")

    def fail(self, record: Record, exc: BaseException) -> None:
        self.stats.quarantined += 1
        self.quarantine.write({
            "stage": self.label, "location": record.get("id"), "source": record.get("source"),
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exception_only(type(exc), exc)[-1].strip(),
            "row": record,
        })

    def process(self, step: RowStep[Any], batch: list[Record]) -> list[Record]:
        """Run a row step over a batch; returns the records it kept.

        A step with its own ``process_batch`` (one call for many records: LLM requests) gets copies kept
        aside: if the call raises, every record is retried alone from its copy (the failed call may have
        changed them) and what the failed call noted is forgotten. Other steps are called record by record;
        a record whose call raises is quarantined (as the step left it) and the others go on.
        """
        self.stats.records_in += len(batch)
        befores = [dumps(r) for r in batch] if self.changes else None
        if type(step).process_batch is not RowStep.process_batch:
            pairs = self._batched(step, batch)
        else:
            pairs = []
            for i, record in enumerate(batch):
                try:
                    pairs.append((i, record, step.process(record)))
                except Exception as exc:
                    self.fail(record, exc)
        kept: list[Record] = []
        for i, record, result in pairs:
            if isinstance(result, Drop):
                self.drop(record, result)
                continue
            kept.append(result)
            if befores is not None:
                self.profile.kept(result, dumps(result), befores[i][:-1])
            elif self._describe:
                self.profile.kept(result)
        self.stats.records_out += len(kept)
        self.collect_notes(step)
        return kept

    def _batched(self, step: RowStep[Any], batch: list[Record]) -> list[tuple[int, Record, Record | Drop]]:
        copies = [dumps(r) for r in batch]
        try:
            results = step.process_batch(batch)
            if len(results) != len(batch):
                raise RuntimeError(f"step returned {len(results)} results for {len(batch)} records")
            return [(i, r, res) for i, (r, res) in enumerate(zip(batch, results, strict=True))]
        except Exception:
            step.take_notes()
        pairs = []
        for i, copy in enumerate(copies):
            record = orjson.loads(copy)
            try:
                pairs.append((i, record, step.process(record)))
            except Exception as exc:
                self.fail(orjson.loads(copy), exc)
        return pairs

    def apply_one(self, step: GlobalStep[Any, Any, Any], record: Record, index: int, plan: Any,
                  before: bytes | None = None) -> Record | None:
        """A global step's apply phase on one record (``before``: its stored bytes): the kept record, or None
        (dropped or quarantined)."""
        self.stats.records_in += 1
        try:
            result = step.apply(record, index, plan)
        except Exception as exc:
            self.fail(record, exc)
            return None
        if isinstance(result, Drop):
            self.drop(record, result)
            return None
        self.stats.records_out += 1
        if before is not None and self.changes:
            self.profile.kept(result, dumps(result), before)
        elif self._describe:
            self.profile.kept(result)
        return result

    def generated(self, record: Record) -> None:
        """A record the step added (quota synthesis), for the profile."""
        if self._describe:
            self.profile.kept(record)

    def kept_raw(self, line: bytes) -> None:
        """A record kept in its stored bytes (filter-only steps): decoded only when the profile needs it."""
        if self._describe:
            self.profile.kept_raw(line)

    def close(self) -> StageStats:
        self.dropped.close()
        self.quarantine.close()
        self.profile.write(profile_path(self.stats_path))
        write_json_atomic(self.stats_path, self.stats.to_json())
        return self.stats

    def abort(self) -> None:
        self.dropped.abort()
        self.quarantine.abort()


def run_signature_shard(ref: StepRef, context: StepContext, input_path: Path, output_path: Path,
                        progress_key: str) -> int:
    """A global step's signature phase over one stored shard, when the segment that stored it could not
    compute them (the step was added or changed after that segment finished)."""
    step = get_step(ref, context)
    assert isinstance(step, GlobalStep)
    started = time.process_time()
    signatures: list[Any] = []
    for batch in batched(read_shard(input_path), SIGNATURE_BATCH):
        try:
            signatures.extend(step.signature_batch(batch))
        except Exception:
            for record in batch:  # find the record to name in the error
                try:
                    step.signature(record)
                except Exception as exc:
                    from datamill.errors import StepError

                    raise StepError(
                        f"step '{ref.name}' failed computing the signature of record "
                        f"{record.get('id')!r}: {type(exc).__name__}: {exc}"
                    ) from exc
            raise
        progress.tick(progress_key, len(batch))
    write_signatures(output_path, step.pack(signatures), time.process_time() - started)
    progress.flush()
    return len(signatures)


def write_signatures(path: Path, packed: Any, seconds: float) -> None:
    """One shard's packed signatures and the CPU seconds spent computing them, published atomically."""
    buf = io.BytesIO()
    pickle.dump({"signatures": packed, "seconds": seconds}, buf, protocol=pickle.HIGHEST_PROTOCOL)
    write_bytes_atomic(path, buf.getvalue())


T = TypeVar("T")


def batched(records: Iterable[T], size: int) -> Iterator[list[T]]:
    """``records`` in lists of ``size`` (the last one shorter)."""
    batch: list[T] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_pickle(path: Path) -> Any:
    with store.open_read(path) as fh:
        return pickle.load(fh)
