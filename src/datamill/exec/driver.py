"""Driver side of a segment (see :mod:`datamill.exec.plan`): which tasks run, in which order, and how each
stage of the segment is finished (its stats summed, checked and marked done).

A segment whose stages are all done is skipped. Otherwise every stage of it is (re)opened: a stage whose
fingerprint changed starts empty; one with the same fingerprint keeps its finished shards (resume). A
task is done when its last stage's per-shard stats exist (read: when its file's marker exists), so a
killed run redoes only unfinished shards. A global step first gets the signatures of every stored shard
(computed by the segment that stored them, or here when that segment finished before the step was
added or changed), then its reduce runs once in the driver, then its apply phase runs as the head of its
own segment.
"""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamill.errors import InputError
from datamill.exec import progress, store
from datamill.exec.executor import for_steps
from datamill.exec.guard import check_loss, check_reconciles
from datamill.exec.ingest import IngestTask, ingest_file
from datamill.exec.plan import Segment
from datamill.exec.segment import (
    ApplyTask,
    Chain,
    ShardsTask,
    SignatureTarget,
    StageRef,
    run_apply_task,
    run_shards_task,
)
from datamill.exec.shards import SHARD_SUFFIX, read_shard
from datamill.exec.step_tasks import StepRef, load_pickle, run_signature_shard
from datamill.exec.workdir import StageDir, WorkDir, read_json, write_bytes_atomic, write_json_atomic, write_text_atomic
from datamill.report.profile import ProfileSpec
from datamill.report.stats import StageStats
from datamill.steps.base import Artifacts, GlobalStep, ShardSignatures, Step, StepContext


def stored_shards(stage: StageDir) -> list[str]:
    """The shards a stage stored, in order."""
    return [name[: -len(SHARD_SUFFIX)] for name in store.names(stage.path, f"*{SHARD_SUFFIX}")]


def finished_shards(folder: Path) -> set[str]:
    """The shards whose per-shard stats exist in ``folder`` (one listing)."""
    return {name[: -len(".stats.json")] for name in store.names(folder, "*.stats.json")}


def first_record(stage: StageDir, shards: list[str]) -> dict[str, Any] | None:
    """The first record a stage stored, if any."""
    stored = set(store.names(stage.path, f"*{SHARD_SUFFIX}"))
    for shard in shards:
        if f"{shard}{SHARD_SUFFIX}" in stored:
            for record in read_shard(stage.path / f"{shard}{SHARD_SUFFIX}"):
                return record
    return None


def first_dropped(stage: StageDir) -> dict[str, Any] | None:
    """The record of the first entry in a stage's dropped files, if any."""
    for path in store.glob(stage.dropped_dir, "*.jsonl"):
        with store.open_read(path) as fh:
            for line in fh:
                record = json.loads(line).get("record")
                return record if isinstance(record, dict) else None
    return None


def sum_shard_stats(stage: StageDir, shards: list[str]) -> StageStats:
    total = StageStats()
    for shard in shards:
        total.add(StageStats.from_json(read_json(stage.path / f"{shard}.stats.json")))
    return total


@dataclasses.dataclass
class StagePlan:
    """One stage of the run as the driver sees it."""

    index: int
    label: str
    dir: StageDir
    step: Step | None  # None for the read
    max_loss: float | None


class SegmentDriver:
    """Runs the segments of one run in order (see :meth:`run`)."""

    def __init__(self, runner: Any) -> None:
        self.r = runner
        self.wd: WorkDir = runner.wd
        self.read_done: tuple[StageStats, dict[str, Any]] = (StageStats(), {})

    # -- contexts ---------------------------------------------------------------------------------
    def context(self, stage: StagePlan, earlier: list[StagePlan], progress_key: str | None = None) -> StepContext:
        return StepContext(
            cache_dir=self.wd.cache, batch_dir=self.wd.batch,
            artifacts=Artifacts(stage.dir.path, tuple(s.dir.path for s in earlier if s.index > 0)),
            workers=self.r.executor.workers, progress_key=progress_key, reporter=progress.report,
            services=self.r.executor.shared_services() if stage.step is not None and stage.step.shared_limits
            else None,
            review_dir=self.wd.review,
        )

    def ref(self, stage: StagePlan, stages: list[StagePlan]) -> StageRef:
        assert stage.step is not None
        params = stage.step.params.model_dump(mode="json")
        final = stage.index == len(stages) - 1 and self.r.report  # the last stage profiles the final data
        return StageRef(stage.label, stage.dir.path, StepRef(stage.step.name, params),
                        self.context(stage, stages[: stage.index]),
                        ProfileSpec.for_step(stage.step.name, params, final=final), stage.step.may_change())

    # -- one segment ------------------------------------------------------------------------------
    def run(self, seg: Segment, stages: list[StagePlan], read_tasks: Callable[[Chain], list[IngestTask]]) -> None:
        own = [stages[i] for i in seg.stages]
        target = stages[seg.signature_for] if seg.signature_for is not None else None
        if all(s.dir.is_done() for s in own):
            if stages[seg.stop].dir.is_stored():
                for s in own:
                    self.r.log(f"{s.label}: unchanged, skipped (resume)")
                return
            for s in own:  # done, but fused the last time: its records were not stored; run it again
                s.dir.reset()
                self.wd.clear_quarantine(s.label if s.index else "read")
        for s in own:
            if not s.dir.prepare():
                self.wd.clear_quarantine(s.label if s.index else "read")
        if target is not None and not target.dir.is_done():
            target.dir.prepare()
        key = f"segment:{seg.start}"
        names = " -> ".join(s.label for s in own)
        chain = Chain(
            steps=tuple(self.ref(stages[i], stages) for i in seg.row_steps),
            store=stages[seg.stop].dir.path,
            signature=SignatureTarget(self.ref(target, stages)) if target is not None else None,
            quarantine=self.wd.quarantine,
            progress_key=key,
        )
        extra: dict[int, dict[str, Any]] = {}
        if seg.head == "read":
            shards = self._read(chain, read_tasks(chain), names, key, extra)
        else:
            source = stages[seg.start - 1]
            shards = stored_shards(source.dir)
            total = int(source.dir.read_stats()["out"])
            last = stages[seg.stop]
            finished = finished_shards(last.dir.path)
            todo = [s for s in shards if s not in finished]
            if seg.head == "shards":
                tasks: list[tuple[Any, ...]] = [(ShardsTask(chain, s, source.dir.path / f"{s}{SHARD_SUFFIX}"),)
                                                for s in todo]
                runner: Callable[..., int] = run_shards_task
            else:
                head = stages[seg.start]
                extra[head.index] = {"report": self._reduce(head, source, stages, shards)}
                ref = self.ref(head, stages)
                tasks = [(ApplyTask(chain, ref, s, source.dir.path / f"{s}{SHARD_SUFFIX}",
                                    head.dir.path / "plans" / f"{s}.pkl"),) for s in todo]
                runner = run_apply_task
            self.r.sink.start(key, names, total, "records")
            self.r.sink.advance(key, total - self._records_in(source, todo))
            for_steps(self.r.executor, [s.step for s in own]).map(runner, tasks)
            self.r.sink.finish(key)
        # a record near the stages (the segment's input, or its output when it read the files), for messages
        # that name the fields records have
        example = first_record(stages[seg.start - 1].dir if seg.head != "read" else stages[seg.stop].dir, shards) \
            or next(filter(None, (first_dropped(s.dir) for s in own)), None)
        for s in own:
            if s.index == 0:
                s.dir.mark_done(*self.read_done, stored=seg.stop == 0)
                continue
            stats = sum_shard_stats(s.dir, shards)
            check_reconciles(s.label, stats)
            assert s.step is not None
            s.step.check_stage(stats.records_in, stats.notes, example)
            check_loss(f"step {s.label}", stats, s.max_loss, dropped_dir=s.dir.dropped_dir,
                       quarantine=store.glob(self.wd.quarantine, f"{s.label}-*.jsonl"))
            assert s.step is not None
            params = s.step.params.model_dump(mode="json")
            s.dir.mark_done(stats, {"step": s.step.name, "params": params, **extra.get(s.index, {})},
                            stored=s.index == seg.stop)

    @staticmethod
    def _records_in(source: StagePlan, todo: list[str]) -> int:
        """Records of the source shards still to do (the progress bar starts at the rest)."""
        done = 0
        finished = finished_shards(source.dir.path)
        for shard in todo:
            if shard in finished:
                done += int(read_json(source.dir.path / f"{shard}.stats.json")["out"])
        return done

    # -- the read head ----------------------------------------------------------------------------
    def _read(self, chain: Chain, tasks: list[IngestTask], names: str, key: str,
              extra: dict[int, dict[str, Any]]) -> list[str]:
        todo = []
        last = chain.steps[-1].path if chain.steps else None
        markers = set(store.names(tasks[0].marker.parent, "*.json")) if tasks else set()
        finished = finished_shards(last) if last is not None else set()
        folders = {chain.store, *(ref.path for ref in chain.steps),
                   *([chain.signature.stage.path / "signatures"] if chain.signature else [])}
        listing: dict[Path, list[str]] | None = None
        for task in tasks:
            if task.marker.name in markers and (last is None or all(
                    shard in finished for shard in read_json(task.marker)["shards"])):
                continue
            if listing is None:  # one listing per folder, however many files start over
                listing = {f: store.names(f) for f in folders} | {f / "dropped": store.names(f / "dropped")
                                                                  for f in folders}
            for folder, files in listing.items():
                for name in files:
                    if name.startswith(f"{task.prefix}-"):  # an interrupted file starts over
                        store.remove(folder / name)
            todo.append(task)
        self.r.sink.start(key, names, None, "records")
        self.r.executor.map(ingest_file, [(t,) for t in todo])
        self.r.sink.finish(key)
        shards: list[str] = []
        stats = StageStats()
        files_info = []
        for task, marker in _file_markers(tasks):
            shards.extend(marker["shards"])
            file_stats = StageStats.from_json(marker["stats"])
            check_reconciles(f"read {marker['file']}", file_stats)
            check_loss(f"reading {marker['file']}", file_stats, self.r.recipe.max_loss, what="rows", reading=True,
                       quarantine=store.glob(self.wd.quarantine, f"read-{task.source_name}-{task.prefix}.jsonl"))
            stats.add(file_stats)
            info = {k: marker[k] for k in ("file", "format", "detection", "file_detection")}
            info.update(source=task.source_name, stats=marker["stats"])
            if marker.get("skipped_members"):
                info["skipped_members"] = marker["skipped_members"]
            files_info.append(info)
            det = marker.get("detection")
            how = (f"detected {det['format']} (confidence {det['confidence']:.2f}, fields: "
                   f"{', '.join(det['fields']) or '-'}{_mapping_note(det)})") if det else \
                f"format {marker['format']}" if marker["format"] else "no readable rows, record format not detected"
            fd = f"; {marker['file_detection']}" if marker.get("file_detection") else ""
            notes = "".join(f"; {note}: {n}" for note, n in marker["stats"].get("notes", {}).items())
            self.r.log(f"read {marker['file']}: {how}{fd}; {marker['stats']['out']} records, "
                       f"{marker['stats']['quarantined']} quarantined{notes}")
        if stats.records_out == 0:
            empty = [info["file"] for info in files_info if info["stats"]["in"] == 0]
            raise InputError(
                "no records were read from the inputs" + (f"; empty: {', '.join(empty)}" if empty else ""),
                hint="check the input paths and that the files hold data",
            )
        for info in files_info:
            if info["stats"]["in"] == 0:
                self.r.log(f"WARNING: {info['file']} is empty (no rows)")
        read_by: dict[str, list[str]] = {}
        for info in files_info:
            read_by.setdefault(str(info.get("url") or info["file"]), []).append(info["source"])
        for file, sources in read_by.items():
            if len(sources) > 1:  # two inputs name the same file (a path and a glob that matches it)
                self.r.log(f"WARNING: {file} is read {len(sources)} times (as {', '.join(sources)}): its records "
                           "appear that many times unless a dedup step removes them")
        self.read_done = (stats, {"files": files_info})
        return shards

    # -- global steps -----------------------------------------------------------------------------
    def _reduce(self, head: StagePlan, source: StagePlan, stages: list[StagePlan], shards: list[str]) -> dict[str, Any]:
        """Signatures of every stored shard (computed here where missing), then the step's reduce, once."""
        step = head.step
        assert isinstance(step, GlobalStep)
        sig_dir = head.dir.path / "signatures"
        have = set(store.names(sig_dir, "*.pkl"))
        missing = [s for s in shards if f"{s}.pkl" not in have]
        if missing:
            key = f"{head.label}:sig"
            finished = finished_shards(source.dir.path)
            total = sum(int(read_json(source.dir.path / f"{s}.stats.json")["out"])
                        for s in missing if s in finished) or None
            self.r.sink.start(key, f"{head.label} (signatures)", total, "records")
            ref = self.ref(head, stages)
            self.r.executor.map(run_signature_shard, [
                (ref.step, ref.context, source.dir.path / f"{s}{SHARD_SUFFIX}", sig_dir / f"{s}.pkl", key)
                for s in missing])
            self.r.sink.finish(key)
        reduced = head.dir.path / "plans" / "_REDUCED"
        report_path = head.dir.path / "report.json"
        if store.exists(reduced):
            data: dict[str, Any] = read_json(report_path)
            return data
        signature_seconds = 0.0

        def signatures() -> Any:
            nonlocal signature_seconds
            for s in shards:
                stored = load_pickle(sig_dir / f"{s}.pkl")
                signature_seconds += float(stored["seconds"])
                yield ShardSignatures(s, stored["signatures"])

        key = f"{head.label}:reduce"
        executor = self.r.executor
        step.context = dataclasses.replace(
            self.context(head, stages[: head.index]), progress_key=key,
            parallel=(lambda fn, tasks: executor.map(fn, tasks)) if executor.workers > 1 else None)
        self.r.sink.start(key, f"{head.label} (reduce)", None, "items")
        started = time.process_time()
        plans = self.r.executor.call(step.reduce, signatures())
        (head.dir.path / "plans").mkdir(exist_ok=True)
        # a reduce may return its plans as a dict or yield (shard, plan) pairs, so that a big plan
        # (millions of duplicates) is written shard by shard instead of held whole in memory
        pending = set(shards)
        for s, plan in plans.items() if isinstance(plans, dict) else plans:
            _write_plan(head.dir.path / "plans" / f"{s}.pkl", plan)
            pending.discard(s)
        for s in sorted(pending):
            _write_plan(head.dir.path / "plans" / f"{s}.pkl", None)
        self.r.sink.finish(key)
        report = step.report()
        report["reduce_seconds"] = round(time.process_time() - started, 3)
        report["signature_seconds"] = round(signature_seconds, 3)
        write_json_atomic(report_path, report)
        write_text_atomic(reduced, "ok\n")
        return report


def _mapping_note(detection: dict[str, Any]) -> str:
    """``; mapping: prompt=ask, answer=answer`` for a detection that guessed its columns."""
    mapping = detection.get("mapping") or {}
    return "; mapping: " + ", ".join(f"{k}={v}" for k, v in mapping.items()) if mapping else ""


def _file_markers(tasks: list[IngestTask]) -> list[tuple[IngestTask, dict[str, Any]]]:
    """Each file's marker (the markers of a file read in byte ranges merged into one), with its first task."""
    out: list[tuple[IngestTask, dict[str, Any]]] = []
    for task in tasks:
        marker = read_json(task.marker)
        if task.byte_range is None or task.byte_range.index == 0:
            out.append((task, marker))
            if task.byte_range is not None:
                marker["file_detection"] = "jsonl, read in 1 byte range"
            continue
        first = out[-1][1]
        first["shards"] = first["shards"] + marker["shards"]
        merged = StageStats.from_json(first["stats"])
        merged.add(StageStats.from_json(marker["stats"]))
        first["stats"] = merged.to_json()
        first["file_detection"] = f"jsonl, read in {task.byte_range.index + 1} byte ranges by parallel workers"
    return out


def _write_plan(path: Path, plan: Any) -> None:
    buf = io.BytesIO()
    pickle.dump(plan, buf, protocol=pickle.HIGHEST_PROTOCOL)
    write_bytes_atomic(path, buf.getvalue())
