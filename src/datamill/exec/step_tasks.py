"""Worker-side execution of steps over one shard: row steps, and the two parallel phases of global steps.

Each task streams its input shard, so memory is bounded by the batch size, not the shard or input
size. Outputs are published atomically and the per-shard ``.stats.json`` is written last: its
presence is what marks the shard as done for resume.
"""

from __future__ import annotations

import pickle
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from datamill.exec import progress
from datamill.exec.shards import SHARD_SUFFIX, JsonlSink, ShardWriter, dumps, read_shard, read_shard_lines, tmp_path
from datamill.exec.workdir import write_json_atomic
from datamill.records import Record
from datamill.report.profile import Profile, ProfileSpec, profile_path
from datamill.report.stats import StageStats
from datamill.steps.base import Drop, GlobalStep, RowStep, Step, StepContext
from datamill.steps.registry import default_registry

BATCH = 256
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


@dataclass(frozen=True)
class ShardTask:
    step: StepRef
    stage_path: Path
    shard: str
    input_path: Path
    quarantine_path: Path
    progress_key: str
    context: StepContext
    #: what the build report collects about this shard's records (see datamill.report.profile)
    profile: ProfileSpec = ProfileSpec()  # noqa: RUF009 - frozen, so one shared default is safe

    @property
    def output_path(self) -> Path:
        return self.stage_path / f"{self.shard}{SHARD_SUFFIX}"

    @property
    def stats_path(self) -> Path:
        return self.stage_path / f"{self.shard}.stats.json"

    @property
    def signature_path(self) -> Path:
        return self.stage_path / "signatures" / f"{self.shard}.pkl"

    @property
    def plan_path(self) -> Path:
        return self.stage_path / "plans" / f"{self.shard}.pkl"


T = TypeVar("T")


def _batches(records: Iterator[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Outputs:
    """The three destinations of a shard task: kept records, dropped records, quarantined records."""

    def __init__(self, task: ShardTask, step_label: str) -> None:
        self.task = task
        self.step_label = step_label
        self.stats = StageStats()
        self.kept = ShardWriter(task.output_path)
        self.dropped = JsonlSink(task.stage_path / "dropped" / f"{task.shard}.jsonl")
        self.quarantine = JsonlSink(task.quarantine_path / f"{step_label}-{task.shard}.jsonl")
        self.profile = Profile(task.profile)

    def collect_notes(self, step: Step) -> None:
        """Add what the step noted (``Step.note``) to this shard's stats."""
        self.stats.notes.update(step.take_notes())

    def emit(self, record: Record, result: Record | Drop, before: bytes | None = None) -> None:
        """Write one result; ``before`` is the record's stored bytes when the step may have changed it."""
        if isinstance(result, Drop):
            self.profile.dropped(record, result)
            self.stats.dropped[result.reason] += 1
            entry: dict[str, Any] = {"reason": result.reason}
            if result.detail:
                entry["detail"] = result.detail
            entry["record"] = record
            self.dropped.write(entry)
        else:
            self.stats.records_out += 1
            line = dumps(result)
            self.kept.write_line(line)
            self.profile.kept(result, line, before)

    def emit_raw(self, line: bytes, drop: Drop | None) -> None:
        """:meth:`emit` for a record still in its stored bytes: the same lines, without decoding it."""
        if drop is None:
            self.stats.records_out += 1
            self.kept.write_line(line + b"\n")
            self.profile.kept_raw(line)
            return
        self.stats.dropped[drop.reason] += 1
        self.profile.dropped_raw(line, drop)
        head = {"reason": drop.reason, "detail": drop.detail} if drop.detail else {"reason": drop.reason}
        self.dropped.write_line(dumps(head)[:-2] + b',"record":' + line + b"}\n")

    def fail(self, record: Record, exc: BaseException) -> None:
        self.stats.quarantined += 1
        self.quarantine.write({
            "stage": self.step_label, "location": record.get("id"), "source": record.get("source"),
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exception_only(type(exc), exc)[-1].strip(),
            "row": record,
        })

    def close(self, started: float) -> StageStats:
        self.kept.close()
        self.dropped.close()
        self.quarantine.close()
        self.profile.write(profile_path(self.task.stats_path))
        self.stats.seconds = time.perf_counter() - started
        write_json_atomic(self.task.stats_path, self.stats.to_json())
        return self.stats

    def abort(self) -> None:
        self.kept.abort()
        self.dropped.abort()
        self.quarantine.abort()

    def run(self, body: Callable[[], None], started: float) -> dict[str, Any]:
        """Run ``body`` (which emits into these outputs), then publish them all, or none on any error."""
        try:
            body()
            stats = self.close(started)
        except BaseException:
            self.abort()
            raise
        progress.flush()
        return stats.to_json()


def run_row_shard(task: ShardTask, step_label: str) -> dict[str, Any]:
    """Apply a row step to one shard."""
    started = time.perf_counter()
    step = get_step(task.step, task.context)
    assert isinstance(step, RowStep)
    out = _Outputs(task, step_label)

    def body() -> None:
        for lines in _batches(read_shard_lines(task.input_path), step.batch_size or BATCH):
            out.stats.records_in += len(lines)
            batch = [orjson.loads(line) for line in lines]
            try:
                results = step.process_batch(batch)
                if len(results) != len(batch):
                    raise RuntimeError(f"step returned {len(results)} results for {len(batch)} records")
                pairs = list(zip(lines, batch, results, strict=True))
            except Exception:
                # the batch may have changed records before it failed: start again from the stored bytes,
                # one record at a time, and forget what the failed call noted
                step.take_notes()
                pairs = []
                for line in lines:
                    record = orjson.loads(line)
                    try:
                        pairs.append((line, record, step.process(record)))
                    except Exception as exc:
                        out.fail(orjson.loads(line), exc)
            for line, record, result in pairs:
                out.emit(record, result, line)
            out.collect_notes(step)
            progress.tick(task.progress_key, len(batch))

    return out.run(body, started)


def run_signature_shard(task: ShardTask) -> int:
    """Global step, phase 1: the signatures of one shard, packed by the step (``pack``) and pickled next to
    the stage."""
    step = get_step(task.step, task.context)
    assert isinstance(step, GlobalStep)
    signatures: list[Any] = []
    for batch in _batches(read_shard(task.input_path), SIGNATURE_BATCH):
        try:
            signatures.extend(step.signature_batch(batch))
        except Exception:
            for record in batch:  # find the record to name in the error
                try:
                    step.signature(record)
                except Exception as exc:
                    from datamill.errors import StepError

                    raise StepError(
                        f"step '{task.step.name}' failed computing the signature of record "
                        f"{record.get('id')!r}: {type(exc).__name__}: {exc}"
                    ) from exc
            raise
        progress.tick(task.progress_key, len(batch))
    task.signature_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(task.signature_path)
    with open(tmp, "wb") as fh:
        pickle.dump(step.pack(signatures), fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(task.signature_path)
    progress.flush()
    return len(signatures)


def load_pickle(path: Path) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def run_apply_shard(task: ShardTask, step_label: str) -> dict[str, Any]:
    """Global step, phase 3: apply this shard's plan to its records."""
    started = time.perf_counter()
    step = get_step(task.step, task.context)
    assert isinstance(step, GlobalStep)
    plan = load_pickle(task.plan_path)
    out = _Outputs(task, step_label)
    if step.filter_only:
        return out.run(lambda: _filter_records(task, step, plan, out), started)

    def body() -> None:
        for index, line in enumerate(read_shard_lines(task.input_path)):
            record = orjson.loads(line)
            out.stats.records_in += 1
            try:
                result = step.apply(record, index, plan)
            except Exception as exc:
                out.fail(record, exc)
                continue
            out.emit(record, result, line)
            progress.tick(task.progress_key)
        out.collect_notes(step)
        for extra in step.extra_records(plan):
            out.stats.generated += 1
            out.emit(extra, extra)

    return out.run(body, started)


def _filter_records(task: ShardTask, step: GlobalStep[Any, Any, Any], plan: Any, out: _Outputs) -> None:
    """Apply phase of a filter-only step: records stay in their stored bytes (kept ones are copied,
    dropped ones wrapped in the dropped entry), byte-identical to decoding and re-encoding them."""
    index = -1
    for index, line in enumerate(read_shard_lines(task.input_path)):
        out.emit_raw(line, None if plan is None else step.decide(index, plan))
        if index & 1023 == 1023:
            progress.tick(task.progress_key, 1024)
    out.stats.records_in = index + 1
    progress.tick(task.progress_key, (index + 1) & 1023)
