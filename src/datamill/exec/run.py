"""Run a recipe: read -> steps -> outputs, stage by stage, resumable, with reconciled counts.

This module decides *what* runs (stages, fingerprints, the reduce of global steps, the summary);
the executor decides *where* (``LocalExecutor.map``). Steps never see either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pickle
import re
import time
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from datamill import __version__
from datamill.errors import DataLossError, DatamillError, InputError, ReconcileError
from datamill.exec import progress
from datamill.exec.export_stage import export_output, resolve_output_path
from datamill.exec.guard import check_loss, check_reconciles
from datamill.exec.ingest import IngestTask, ingest_file
from datamill.exec.local import LocalExecutor
from datamill.exec.progress import ProgressSink, QuietProgress
from datamill.exec.shards import SHARD_SUFFIX, read_shard, tmp_path
from datamill.exec.step_tasks import (
    ShardTask,
    StepRef,
    close_steps,
    load_pickle,
    run_apply_shard,
    run_row_shard,
    run_signature_shard,
)
from datamill.exec.workdir import (
    StageDir,
    WorkDir,
    fingerprint,
    step_fingerprint,
    step_label,
    write_json_atomic,
    write_text_atomic,
)
from datamill.export.registry import build_exporter
from datamill.formats.input_records import file_labels
from datamill.io.sources import SourceFile, expand_input, input_fingerprint
from datamill.recipe.load import LoadedRecipe, dump_resolved
from datamill.recipe.model import InputSpec
from datamill.report.profile import ProfileSpec
from datamill.report.stats import StageStats
from datamill.steps.base import Artifacts, GlobalStep, RowStep, ShardSignatures, Step, StepContext

READ_VERSION = "1"
EXPORT_VERSION = "1"


def input_name(spec: InputSpec, index: int) -> str:
    """A short provenance name for an input: its ``name`` or one derived from its path."""
    if spec.name:
        return spec.name
    first = spec.paths()[0]
    if first.startswith("hf://"):
        return first[len("hf://"):].replace("/", "__")
    p = PurePosixPath(first.split("://", 1)[-1])
    name = p.name
    while name and any(ch in name for ch in "*?[") and p.parent != p:
        p = p.parent
        name = p.name
    for suffix in (".gz", ".zst", ".zstd", ".bz2", ".xz", ".tar", ".tgz"):
        name = name.removesuffix(suffix)
    name = re.sub(r"\.[A-Za-z0-9]+$", "", name)
    # letters and digits of every script stay (数据, données); separators, control characters and
    # punctuation that trouble file names and ids become "_"
    name = re.sub(r"[^\w.-]+", "_", name)
    return name if name.strip("_.") else f"input{index}"


def _mapping_note(detection: dict[str, Any]) -> str:
    """``; mapping: prompt=ask, answer=answer`` for a detection that guessed its columns."""
    mapping = detection.get("mapping") or {}
    return "; mapping: " + ", ".join(f"{k}={v}" for k, v in mapping.items()) if mapping else ""


def _shards(stage: StageDir) -> list[str]:
    return sorted(p.name[: -len(SHARD_SUFFIX)] for p in stage.path.glob(f"*{SHARD_SUFFIX}"))


def _first_record(stage: StageDir, shards: list[str]) -> dict[str, Any] | None:
    """The first record of a stage's shards (for messages that name the fields records have)."""
    for shard in shards:
        for record in read_shard(stage.path / f"{shard}{SHARD_SUFFIX}"):
            return record
    return None


def _sum_shard_stats(stage: StageDir, shards: list[str]) -> StageStats:
    total = StageStats()
    for shard in shards:
        total.add(StageStats.from_json(json.loads((stage.path / f"{shard}.stats.json").read_text())))
    return total


class Runner:
    """One run of one recipe in one work directory."""

    def __init__(self, loaded: LoadedRecipe, workdir: Path, *, fresh: bool = False,
                 workers: int | None = None, sink: ProgressSink | None = None) -> None:
        self.loaded = loaded
        self.recipe = loaded.recipe
        self.wd = WorkDir(workdir)
        self.fresh = fresh
        self.sink: ProgressSink = sink or QuietProgress()
        self.executor = LocalExecutor(workers or self.recipe.executor.workers, self.sink)
        self.stage_reports: list[dict[str, Any]] = []
        self.messages: list[str] = []
        #: the stages finished so far in this run, in order (their folders hold earlier steps' artifacts)
        self.finished: list[StageDir] = []

    def log(self, message: str) -> None:
        self.messages.append(message)
        self.sink.log(message)

    # -- read ---------------------------------------------------------------------------------
    def _read(self) -> tuple[StageDir, list[dict[str, Any]]]:
        names: list[str] = []
        plans: list[tuple[int, InputSpec, str, list[SourceFile]]] = []
        for i, spec in enumerate(self.recipe.inputs):
            if spec.role == "reference":  # an evaluation set steps compare against: never read as records
                continue
            name = input_name(spec, i)
            while name in names:
                name = f"{name}_{i}"
            names.append(name)
            files = expand_input(spec, self.loaded.base_dir)
            plans.append((i, spec, name, files))
        fp = fingerprint(
            "read", READ_VERSION, self.recipe.executor.shard_size,
            [[spec.model_dump(mode="json"), name, input_fingerprint(files)] for _, spec, name, files in plans],
        )
        stage = self.wd.stage(0, "read", fp)
        if stage.is_done():
            self.log("read: unchanged inputs, reusing the previous read")
            return stage, stage.read_stats().get("files", [])
        if not stage.prepare():
            self.wd.clear_quarantine("read")
        tasks: list[IngestTask] = []
        for i, spec, name, files in plans:
            for j, (source, label) in enumerate(zip(files, file_labels(files), strict=True)):
                task = IngestTask(
                    input_index=i, file_index=j, source_name=name,
                    file_label=label,
                    source=source, format=spec.format, fields=dict(spec.fields), options=dict(spec.options),
                    kind=spec.kind, limit=spec.limit, shard_size=self.recipe.executor.shard_size,
                    stage_path=stage.path, quarantine_path=self.wd.quarantine, profile=not self.loaded.steps,
                )
                tasks.append(task)
        todo = []
        for task in tasks:
            if task.marker.exists():
                continue
            for partial in stage.path.glob(f"{task.prefix}-*"):  # an interrupted file starts over
                partial.unlink()
            todo.append(task)
        self.sink.start("read", "read", None, "records")
        self.executor.map(ingest_file, [(t,) for t in todo])
        self.sink.finish("read")
        stats = StageStats()
        files_info = []
        for task in tasks:
            marker = json.loads(task.marker.read_text(encoding="utf-8"))
            file_stats = StageStats.from_json(marker["stats"])
            check_reconciles(f"read {marker['file']}", file_stats)
            check_loss(f"reading {marker['file']}", file_stats, self.recipe.max_loss, what="rows", reading=True,
                       quarantine=sorted(self.wd.quarantine.glob(f"read-{task.source_name}-{task.prefix}.jsonl")))
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
            self.log(f"read {marker['file']}: {how}{fd}; {marker['stats']['out']} records, "
                     f"{marker['stats']['quarantined']} quarantined{notes}")
        if stats.records_out == 0:
            empty = [info["file"] for info in files_info if info["stats"]["in"] == 0]
            raise InputError(
                "no records were read from the inputs" + (f"; empty: {', '.join(empty)}" if empty else ""),
                hint="check the input paths and that the files hold data",
            )
        for info in files_info:
            if info["stats"]["in"] == 0:
                self.log(f"WARNING: {info['file']} is empty (no rows)")
        stage.mark_done(stats, {"files": files_info})
        return stage, files_info

    # -- steps --------------------------------------------------------------------------------
    def _run_step(self, index: int, step: Step, prev: StageDir) -> StageDir:
        spec = self.recipe.steps[index - 1]
        label = step_label(index, step.name, spec.id)
        params = step.params.model_dump(mode="json")
        context = self._context(self.wd.steps / label)
        stage = StageDir(self.wd.steps / label, step_fingerprint(step, prev.fingerprint, context))
        if stage.is_done():
            self.log(f"{label}: unchanged, skipped (resume)")
            return stage
        if not stage.prepare():
            self.wd.clear_quarantine(label)
        ref = StepRef(step.name, params)
        shards = _shards(prev)
        key = label
        total = int(prev.read_stats()["out"])
        profile = ProfileSpec.for_step(step.name, params, final=index == len(self.loaded.steps))

        def task(shard: str) -> ShardTask:
            return ShardTask(ref, stage.path, shard, prev.path / f"{shard}{SHARD_SUFFIX}",
                             self.wd.quarantine, key, context, profile)

        extra: dict[str, Any] = {"step": step.name, "params": params}
        if isinstance(step, RowStep):
            todo = [task(s) for s in shards if not task(s).stats_path.exists()]
            self.sink.start(key, label, total, "records")
            self.sink.advance(key, self._done_in(stage, shards))
            self._executor_for(step).map(run_row_shard, [(t, label) for t in todo])
            self.sink.finish(key)
        elif isinstance(step, GlobalStep):
            extra["report"] = self._run_global(step, stage, shards, task, label, total)
        else:
            raise DatamillError(f"step '{step.name}' is neither a RowStep nor a GlobalStep")
        stats = _sum_shard_stats(stage, shards)
        check_reconciles(label, stats)
        step.check_stage(stats.records_in, stats.notes, _first_record(prev, shards))
        max_loss = spec.max_loss if spec.max_loss is not None else self.recipe.max_loss
        check_loss(f"step {label}", stats, max_loss, dropped_dir=stage.dropped_dir,
                   quarantine=sorted(self.wd.quarantine.glob(f"{label}-*.jsonl")))
        stage.mark_done(stats, extra)
        return stage

    def _context(self, stage_path: Path, progress_key: str | None = None) -> StepContext:
        """What a step of the stage in ``stage_path`` may know about the run: caches, its artifacts folder,
        parallelism, the review decisions."""
        return StepContext(
            cache_dir=self.wd.cache, batch_dir=self.wd.batch,
            artifacts=Artifacts(stage_path, tuple(s.path for s in self.finished[1:])),
            workers=self.executor.workers, progress_key=progress_key, reporter=progress.report,
            review_dir=self.wd.review,
        )

    def _executor_for(self, step: Step) -> LocalExecutor:
        """The run's executor, or a smaller one for steps that cap their processes (``max_workers``);
        with 1 the step runs in this process (LLM steps: one rate limiter for every call)."""
        cap = step.max_workers
        if cap is None or cap >= self.executor.workers:
            return self.executor
        return LocalExecutor(cap, self.sink)

    @staticmethod
    def _write_plan(path: Path, plan: Any) -> None:
        tmp = tmp_path(path)
        with open(tmp, "wb") as fh:
            pickle.dump(plan, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @staticmethod
    def _done_in(stage: StageDir, shards: list[str]) -> int:
        """Records already processed by shards finished before an interruption (for the progress bar)."""
        done = 0
        for shard in shards:
            path = stage.path / f"{shard}.stats.json"
            if path.exists():
                done += int(json.loads(path.read_text())["in"])
        return done

    def _run_global(self, step: GlobalStep, stage: StageDir, shards: list[str], task: Any, label: str,
                    total: int) -> dict[str, Any]:
        sig_todo = [dataclasses.replace(task(s), progress_key=label + ":sig") for s in shards
                    if not task(s).signature_path.exists()]
        self.sink.start(label + ":sig", f"{label} (signatures)", total, "records")
        self.executor.map(run_signature_shard, [(t,) for t in sig_todo])
        self.sink.finish(label + ":sig")
        reduced = stage.path / "plans" / "_REDUCED"
        report_path = stage.path / "report.json"
        if not reduced.exists():
            started = time.perf_counter()

            def signatures() -> Any:
                for s in shards:
                    yield ShardSignatures(s, load_pickle(task(s).signature_path))

            key = f"{label}:reduce"
            step.context = dataclasses.replace(task(shards[0]).context if shards else self._context(stage.path),
                                               progress_key=key)
            self.sink.start(key, f"{label} (reduce)", None, "items")
            plans = self.executor.call(step.reduce, signatures())
            self.sink.finish(key)
            (stage.path / "plans").mkdir(exist_ok=True)
            # a reduce may return its plans as a dict or yield (shard, plan) pairs, so that a big plan
            # (millions of duplicates) is written shard by shard instead of held whole in memory
            pending = set(shards)
            for s, plan in plans.items() if isinstance(plans, dict) else plans:
                self._write_plan(task(s).plan_path, plan)
                pending.discard(s)
            for s in sorted(pending):
                self._write_plan(task(s).plan_path, None)
            report = step.report()
            report["reduce_seconds"] = round(time.perf_counter() - started, 3)
            write_json_atomic(report_path, report)
            write_text_atomic(reduced, "ok\n")
        apply_todo = [task(s) for s in shards if not task(s).stats_path.exists()]
        self.sink.start(label, label, total, "records")
        self.sink.advance(label, self._done_in(stage, shards))
        self.executor.map(run_apply_shard, [(t, label) for t in apply_todo])
        self.sink.finish(label)
        data: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
        return data

    # -- outputs ------------------------------------------------------------------------------
    def _export(self, last: StageDir) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Write every output; return their stats and how the final records were accounted for."""
        results = []
        shards = [last.path / f"{s}{SHARD_SUFFIX}" for s in _shards(last)]
        total = int(last.read_stats()["out"])
        statuses: list[bytes] = []
        refusals: list[dict[int, str]] = []
        for i, spec in enumerate(self.recipe.outputs):
            exporter = build_exporter(spec.format, spec.options, f"outputs[{i}]")
            target = resolve_output_path(spec.path, self.wd.root)
            fp = fingerprint("export", EXPORT_VERSION, spec.model_dump(mode="json"), last.fingerprint, target)
            stage = StageDir(self.wd.root / "outputs" / f"{i:02d}-{spec.format}", fp)
            status_file = stage.path / "status.bin"
            if stage.is_done() and status_file.exists():
                self.log(f"output {i} ({spec.format}): unchanged, skipped (resume)")
                data = stage.read_stats()
                statuses.append(status_file.read_bytes())
                refusals.append({int(k): v for k, v in data.get("refused", {}).items()})
                results.append(data)
                continue
            stage.prepare()
            key = f"export:{i}"
            self.sink.start(key, f"export {spec.format}", total, "records")
            stats, files, status, reasons = self.executor.call(
                export_output, spec, exporter, target, shards, stage.dropped_dir, key, stage.path / "profile.json")
            self.sink.finish(key)
            tmp = tmp_path(status_file)
            tmp.write_bytes(bytes(status))
            tmp.replace(status_file)
            extra = {"format": spec.format, "path": target, "where": spec.where,
                     "files": [{"path": f.path, "split": f.split, "records": f.records, "sha1": f.sha1}
                               for f in files],
                     "refused": {str(k): v for k, v in reasons.items()}}
            check_reconciles(f"output {i} ({spec.format})", stats)
            check_loss(f"output {i} ({spec.format})", stats, self.recipe.max_loss, dropped_dir=stage.dropped_dir)
            stage.mark_done(stats, extra)
            for f in files:
                self.log(f"wrote {f.path} ({f.records} records)")
            statuses.append(bytes(status))
            refusals.append(reasons)
            data = stage.read_stats()
            results.append(data)
        for r in results:
            r.pop("refused", None)
        return results, account_outputs(total, statuses, refusals)

    # -- whole run ----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.wd.create(self.fresh)
        write_text_atomic(self.wd.lock_file, dump_resolved(self.loaded))
        try:
            stage, files_info = self._read()
            self.finished = [stage]
            for i, step in enumerate(self.loaded.steps, start=1):
                stage = self._run_step(i, step, stage)
                self.finished.append(stage)
            self.wd.remove_stale_stages({s.path.name for s in self.finished})
            outputs, accounting = self._export(stage)
        finally:
            self.executor.shutdown()
            close_steps()
            for step in self.loaded.steps:  # the instances that ran a reduce in this process
                if step.context is not None:
                    step.teardown()
        return self._summary(self.finished, files_info, outputs, accounting, started, started_at)

    def _summary(self, stages: list[StageDir], files_info: list[dict[str, Any]], outputs: list[dict[str, Any]],
                 accounting: dict[str, Any], started: float, started_at: str) -> dict[str, Any]:
        steps = []
        dropped: Counter[str] = Counter()
        quarantined = 0
        generated = 0
        for st in stages:
            data = st.read_stats()
            data = {"name": st.path.name, **data}
            steps.append(data)
            dropped.update(data.get("dropped", {}))
            quarantined += int(data.get("quarantined", 0))
            generated += int(data.get("generated", 0))
        read = int(steps[0]["in"])
        written = int(accounting["written"])
        dropped.update(accounting["dropped"])
        reconciled = read + generated == written + sum(dropped.values()) + quarantined
        summary = {
            "recipe": self.recipe.name,
            "datamill_version": __version__,
            "workdir": str(self.wd.root),
            "started_at": started_at,
            "seconds": round(time.perf_counter() - started, 3),
            "inputs": files_info,
            "steps": steps,
            "outputs": outputs,
            "totals": {"read": read, "written": written, "dropped": dict(sorted(dropped.items())),
                       "quarantined": quarantined, **({"generated": generated} if generated else {})},
            "reconciled": reconciled,
            "log": self.messages,
        }
        write_json_atomic(self.wd.summary_file, summary)
        if not reconciled:
            raise ReconcileError(
                f"the run's counts do not reconcile: read {read} + generated {generated} != written {written} + "
                f"dropped {sum(dropped.values())} + quarantined {quarantined}",
                hint=f"this is a datamill bug; please report it with {self.wd.summary_file}",
            )
        if read and written == 0 and (self.recipe.max_loss is None or self.recipe.max_loss < 1):
            raise DataLossError(
                f"the run wrote no records ({read} read): " + ", ".join(f"{k}: {v}" for k, v in dropped.most_common(5)),
                hint=f"see {self.wd.summary_file} for where they went; set max_loss: 1 if this is what you want",
            )
        return summary


def account_outputs(total: int, statuses: list[bytes], refusals: list[dict[int, str]]) -> dict[str, Any]:
    """Count every final record once across all outputs.

    A record is *written* when at least one output wrote it. Otherwise it is dropped: with the reason
    of the first output that refused it (``export:<reason>``), or ``export:not_selected`` when no
    output's ``where`` selected it.
    """
    from datamill.exec.export_stage import REFUSED, WRITTEN

    if not statuses:
        return {"written": total, "dropped": {}}
    import numpy as np

    table = np.stack([np.frombuffer(status, dtype=np.uint8) for status in statuses])
    is_written = (table == WRITTEN).any(axis=0)
    written = int(is_written.sum())
    dropped: Counter[str] = Counter()
    for index in np.flatnonzero(~is_written).tolist():
        for status, reasons in zip(statuses, refusals, strict=True):
            if status[index] == REFUSED:
                dropped[f"export:{reasons[index]}"] += 1
                break
        else:
            dropped["export:not_selected"] += 1
    return {"written": written, "dropped": dict(dropped)}


def run_recipe(loaded: LoadedRecipe, workdir: Path, *, fresh: bool = False, workers: int | None = None,
               sink: ProgressSink | None = None) -> dict[str, Any]:
    """Run (or resume) ``loaded`` in ``workdir`` and return the summary written to ``summary.json``."""
    if not loaded.recipe.inputs:
        raise InputError("the recipe has no inputs")
    runner = Runner(loaded, workdir, fresh=fresh, workers=workers, sink=sink)
    summary = runner.run()
    if loaded.recipe.train is not None:  # the last stage: training on the outputs (resumable)
        from datamill.train.stage import train_stage

        summary["train"] = train_stage(loaded.recipe.train, workdir, (sink or QuietProgress()).log)
        write_json_atomic(WorkDir(workdir).summary_file, summary)
    if loaded.recipe.eval is not None:  # after training: the test split, the model alone and trained (resumable)
        from datamill.evaluate.stage import run_eval_stage

        last = runner.finished[-1]
        summary["eval"] = run_eval_stage(loaded.recipe.eval, workdir, last.path, last.fingerprint,
                                         recipe_llm=loaded.recipe.llm, train=loaded.recipe.train,
                                         log=(sink or QuietProgress()).log)
        write_json_atomic(WorkDir(workdir).summary_file, summary)
    return summary
