"""Worker side of a segment (see :mod:`datamill.exec.plan`): one pass over one input unit through every
stage of the segment.

A task's head yields *chunks*, one per output shard: the records of a stored shard (``shards``), a
global step's apply phase over a stored shard (``apply``), or ``shard_size`` rows of an input file or
byte range mapped to canonical records (``read``, see :mod:`datamill.exec.ingest`). Each chunk flows in
batches through the segment's row steps; every stage writes its own per-shard stats, dropped records
and quarantine entries, exactly as if it had run alone; the survivors are stored once, in the last
stage's shard; if a global step follows, its signatures are computed from the stored records in the
same pass. The last stage's ``<shard>.stats.json`` is written last: it is what marks the shard done.

Records a global step only filters (dedup) stay in their stored bytes when nothing after the filter in
the segment needs them decoded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from datamill.exec import progress
from datamill.exec.shards import SHARD_SUFFIX, ShardWriter, read_shard_lines
from datamill.exec.step_tasks import StageSinks, StepRef, batched, get_step, load_pickle, write_signatures
from datamill.records import Record
from datamill.report.profile import ProfileSpec
from datamill.steps.base import GlobalStep, RowStep, StepContext

BATCH = 512


@dataclass(frozen=True)
class StageRef:
    """One stage of a segment as a worker needs it: where its files go and which step runs."""

    label: str
    path: Path
    step: StepRef
    context: StepContext
    #: what the build report collects about the stage's records (see datamill.report.profile)
    profile: ProfileSpec = ProfileSpec()  # noqa: RUF009 - frozen, so one shared default is safe
    #: the step may rewrite records: the report keeps before/after pairs (the bytes are compared)
    changes: bool = False

    def sinks(self, shard: str, quarantine: Path) -> StageSinks:
        return StageSinks(self.path, self.label, shard, quarantine, self.profile, self.changes)

    def stats_path(self, shard: str) -> Path:
        return self.path / f"{shard}.stats.json"

    def shard_path(self, shard: str) -> Path:
        return self.path / f"{shard}{SHARD_SUFFIX}"


@dataclass(frozen=True)
class SignatureTarget:
    """The global step after the segment: its signatures are computed from the stored records."""

    stage: StageRef

    def path(self, shard: str) -> Path:
        return self.stage.path / "signatures" / f"{shard}.pkl"


@dataclass(frozen=True)
class Chain:
    """What every task of a segment shares: the row steps of the pass, where the survivors are stored, and
    the signature target."""

    steps: tuple[StageRef, ...]
    store: Path  # the folder of the stage whose output is stored (the segment's last stage)
    signature: SignatureTarget | None
    quarantine: Path
    progress_key: str


@dataclass
class Chunk:
    """One output shard's worth of input: decoded records, or stored bytes (``lines``) not yet decoded."""

    shard: str
    records: Iterator[list[Record]] | None = None
    lines: Iterator[list[bytes]] | None = None
    #: the head's own stage (apply) whose sinks the head fills; None for read and shards heads
    head_sinks: StageSinks | None = None


class _Pass:
    """Runs the chain over one chunk and publishes every stage's files for its shard."""

    def __init__(self, chain: Chain, chunk: Chunk) -> None:
        self.chain = chain
        self.chunk = chunk
        self.steps = [(ref, get_step(ref.step, ref.context)) for ref in chain.steps]
        self.sinks = [ref.sinks(chunk.shard, chain.quarantine) for ref in chain.steps]
        self.writer = ShardWriter(chain.store / f"{chunk.shard}{SHARD_SUFFIX}")
        self.signer: GlobalStep[Any, Any, Any] | None = None
        self.signatures: list[Any] = []
        self.signature_seconds = 0.0
        if chain.signature is not None:
            step = get_step(chain.signature.stage.step, chain.signature.stage.context)
            assert isinstance(step, GlobalStep)
            self.signer = step

    def run(self) -> None:
        try:
            if self.chunk.lines is not None and not self.steps and self.signer is None:
                for lines in self.chunk.lines:  # nothing needs the records: keep their stored bytes
                    for line in lines:
                        self.writer.write_line(line + b"\n")
                    progress.tick(self.chain.progress_key, len(lines))
            else:
                for batch in self._batches():
                    self._flow(batch)
            self._publish()
        except BaseException:
            self.writer.abort()
            for sinks in self.sinks:
                sinks.abort()
            if self.chunk.head_sinks is not None:
                self.chunk.head_sinks.abort()
            raise

    def _batches(self) -> Iterator[list[Record]]:
        if self.chunk.records is not None:
            yield from self.chunk.records
        if self.chunk.lines is not None:
            for lines in self.chunk.lines:
                yield [orjson.loads(line) for line in lines]

    def _flow(self, batch: list[Record]) -> None:
        n = len(batch)
        for (_, step), sinks in zip(self.steps, self.sinks, strict=True):
            started = time.process_time()
            assert isinstance(step, RowStep)
            batch = sinks.process(step, batch)
            sinks.stats.seconds += time.process_time() - started
            if not batch:
                break
        started = time.process_time()
        for record in batch:
            self.writer.write(record)
        if self.signer is not None and batch:
            t0 = time.process_time()
            self.signatures.extend(self.signer.signature_batch(batch))
            self.signature_seconds += time.process_time() - t0
            started += time.process_time() - t0
        if self.sinks:
            self.sinks[-1].stats.seconds += time.process_time() - started
        elif self.chunk.head_sinks is not None:
            self.chunk.head_sinks.stats.seconds += time.process_time() - started
        progress.tick(self.chain.progress_key, n)

    def _publish(self) -> None:
        """Signatures and every stage's side files first, the stored shard next, and the last stage's stats
        last: a shard whose last stats file exists is complete in every stage."""
        if self.signer is not None and self.chain.signature is not None:
            started = time.process_time()
            packed = self.signer.pack(self.signatures)
            write_signatures(self.chain.signature.path(self.chunk.shard), packed,
                             self.signature_seconds + time.process_time() - started)
        self.writer.close()
        all_sinks = ([self.chunk.head_sinks] if self.chunk.head_sinks is not None else []) + self.sinks
        for (_, step), sinks in zip(self.steps, self.sinks, strict=True):
            sinks.collect_notes(step)
        for sinks in all_sinks[:-1]:
            sinks.close()
        if all_sinks:
            all_sinks[-1].close()


def run_chunks(chain: Chain, chunks: Iterator[Chunk]) -> int:
    """Run ``chain`` over every chunk in order; returns how many chunks were completed."""
    done = 0
    for chunk in chunks:
        _Pass(chain, chunk).run()
        done += 1
    progress.flush()
    return done


# -- heads ---------------------------------------------------------------------------------------------


def _line_batches(path: Path) -> Iterator[list[bytes]]:
    return batched(read_shard_lines(path), BATCH)


@dataclass(frozen=True)
class ShardsTask:
    """``shards`` head: the stored records of one shard of the stage before the segment."""

    chain: Chain
    shard: str
    input_path: Path


def run_shards_task(task: ShardsTask) -> int:
    chunk = Chunk(task.shard, lines=_line_batches(task.input_path))
    return run_chunks(task.chain, iter([chunk]))


@dataclass(frozen=True)
class ApplyTask:
    """``apply`` head: global step ``stage`` applies its plan for ``shard`` to the stored records."""

    chain: Chain
    stage: StageRef
    shard: str
    input_path: Path
    plan_path: Path


def run_apply_task(task: ApplyTask) -> int:
    step = get_step(task.stage.step, task.stage.context)
    assert isinstance(step, GlobalStep)
    plan = load_pickle(task.plan_path)
    sinks = task.stage.sinks(task.shard, task.chain.quarantine)
    if step.filter_only:
        lines: Iterator[list[bytes]] = _filtered_lines(step, plan, task.input_path, sinks)
        chunk = Chunk(task.shard, lines=lines, head_sinks=sinks)
    else:
        chunk = Chunk(task.shard, records=_applied(step, plan, task.input_path, sinks), head_sinks=sinks)
    return run_chunks(task.chain, iter([chunk]))


def _filtered_lines(step: GlobalStep[Any, Any, Any], plan: Any, path: Path, sinks: StageSinks) -> Iterator[list[bytes]]:
    """Kept records' stored bytes, batch by batch; dropped ones wrapped into the dropped file as bytes."""
    index = 0
    for lines in _line_batches(path):
        started = time.process_time()
        kept = []
        for line in lines:
            drop = None if plan is None else step.decide(index, plan)
            index += 1
            if drop is None:
                kept.append(line)
                sinks.kept_raw(line)
            else:
                sinks.drop_raw(line, drop)
        sinks.stats.records_in += len(lines)
        sinks.stats.records_out += len(kept)
        sinks.stats.seconds += time.process_time() - started
        yield kept


def _applied(step: GlobalStep[Any, Any, Any], plan: Any, path: Path, sinks: StageSinks) -> Iterator[list[Record]]:
    index = 0
    for lines in _line_batches(path):
        started = time.process_time()
        kept = []
        for line in lines:
            result = sinks.apply_one(step, orjson.loads(line), index, plan, line)
            index += 1
            if result is not None:
                kept.append(result)
        sinks.stats.seconds += time.process_time() - started
        yield kept
    started = time.process_time()
    extra = step.extra_records(plan)
    sinks.stats.generated += len(extra)
    sinks.stats.records_out += len(extra)
    for record in extra:
        sinks.generated(record)
    sinks.collect_notes(step)
    sinks.stats.seconds += time.process_time() - started
    if extra:
        yield extra

