"""Run a recipe: read -> steps -> outputs, stage by stage, resumable, with reconciled counts.

This module decides *what* runs (stages, fingerprints, the reduce of global steps, the summary);
the executor decides *where* (:mod:`datamill.exec.executor`: a local process pool or Ray). Steps never
see either. The work directory is a local folder or an fsspec URL shared by several nodes
(:mod:`datamill.exec.store`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from datamill import __version__
from datamill.errors import DataLossError, InputError, ReconcileError
from datamill.exec import store
from datamill.exec.driver import SegmentDriver, StagePlan, stored_shards
from datamill.exec.executor import Executor, build_executor
from datamill.exec.export_parts import export_part, join_parts, joinable, lock_mode, part_tasks
from datamill.exec.export_stage import export_output, resolve_output_path
from datamill.exec.guard import check_loss, check_reconciles
from datamill.exec.ingest import IngestTask
from datamill.exec.plan import build_segments
from datamill.exec.progress import ProgressSink, QuietProgress
from datamill.exec.ranges import (
    MIN_RANGE_BYTES,
    count_range,
    local_path,
    numbered,
    plan_ranges,
    splittable,
    target_bytes,
)
from datamill.exec.segment import Chain
from datamill.exec.shards import SHARD_SUFFIX
from datamill.exec.stale_outputs import recorded_files, remove_files
from datamill.exec.step_tasks import close_steps
from datamill.exec.workdir import (
    StageDir,
    WorkDir,
    fingerprint,
    step_fingerprint,
    step_label,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from datamill.export.registry import build_exporter
from datamill.formats.base import AdapterConfig
from datamill.formats.input_records import DETECT_SAMPLE, file_labels
from datamill.formats.registry import detect_format
from datamill.io.read import read_rows
from datamill.io.sources import SourceFile, expand_input, input_fingerprint
from datamill.recipe.load import LoadedRecipe, dump_resolved
from datamill.recipe.model import InputSpec

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


class Runner:
    """One run of one recipe in one work directory."""

    def __init__(self, loaded: LoadedRecipe, workdir: Path | str, *, fresh: bool = False,
                 workers: int | None = None, sink: ProgressSink | None = None, executor: str | None = None,
                 address: str | None = None, report: bool = True) -> None:
        self.loaded = loaded
        #: collect what the build report needs beyond counts (composition, lengths, samples of the final data)
        self.report = report
        self.recipe = loaded.recipe
        self.mount: store.Mount | None = None
        if store.is_remote(workdir):
            url = str(workdir).rstrip("/")
            self.mount = store.Mount(store.scratch_for(url), url)
            self.wd = WorkDir(self.mount.local, url)
        else:
            self.wd = WorkDir(Path(workdir))
        self.fresh = fresh
        self.sink: ProgressSink = sink or QuietProgress()
        self.executor_kind = executor
        self.address = address
        self.workers = workers
        self.messages: list[str] = []
        self.cpu_started = 0.0

    def log(self, message: str) -> None:
        self.messages.append(message)
        self.sink.log(message)

    # -- stages -------------------------------------------------------------------------------
    def _inputs(self) -> list[tuple[int, InputSpec, str, list[SourceFile]]]:
        names: list[str] = []
        plans: list[tuple[int, InputSpec, str, list[SourceFile]]] = []
        for i, spec in enumerate(self.recipe.inputs):
            if spec.role == "reference":  # an evaluation set steps compare against: never read as records
                continue
            name = input_name(spec, i)
            while name in names:
                name = f"{name}_{i}"
            names.append(name)
            plans.append((i, spec, name, expand_input(spec, self.loaded.base_dir)))
        return plans

    def _stages(self, inputs: list[tuple[int, InputSpec, str, list[SourceFile]]]) -> list[StagePlan]:
        """Every stage with its directory and fingerprint (chained: a change re-runs everything after it)."""
        fp = fingerprint(
            "read", READ_VERSION, self.recipe.executor.shard_size,
            [[spec.model_dump(mode="json"), name, input_fingerprint(files)] for _, spec, name, files in inputs],
        )
        stages = [StagePlan(0, "00-read", self.wd.stage(0, "read", fp), None, self.recipe.max_loss)]
        for i, (step, spec) in enumerate(zip(self.loaded.steps, self.recipe.steps, strict=True), start=1):
            label = step_label(i, step.name, spec.id)
            fp = step_fingerprint(step, fp, self.wd.step_context(self.wd.steps / label))
            max_loss = spec.max_loss if spec.max_loss is not None else self.recipe.max_loss
            stages.append(StagePlan(i, label, StageDir(self.wd.steps / label, fp), step, max_loss))
        return stages

    def _read_tasks(self, inputs: list[tuple[int, InputSpec, str, list[SourceFile]]], stage: StageDir
                    ) -> Callable[[Chain], list[IngestTask]]:
        shard_size = self.recipe.executor.shard_size

        def tasks(chain: Chain) -> list[IngestTask]:
            out = []
            for i, spec, name, files in inputs:
                for j, (source, label) in enumerate(zip(files, file_labels(files), strict=True)):
                    task = IngestTask(
                        input_index=i, file_index=j, source_name=name, file_label=label, source=source,
                        format=spec.format, fields=dict(spec.fields), options=dict(spec.options), kind=spec.kind,
                        limit=spec.limit, shard_size=shard_size, stage_path=stage.path,
                        quarantine_path=self.wd.quarantine, chain=chain, progress_key=chain.progress_key,
                        profile=not self.loaded.steps and self.report,
                    )
                    out.extend(self._ranges(task))
            return out

        return tasks

    def _ranges(self, task: IngestTask) -> list[IngestTask]:
        """A big JSON Lines file as several range tasks (see :mod:`datamill.exec.ranges`), else the task."""
        size = splittable(task.source, task.limit)
        path = local_path(task.source)
        if not size or path is None or size < 2 * max(MIN_RANGE_BYTES, target_bytes(path, task.shard_size)):
            return [task]
        ranges = plan_ranges(path, size, target_bytes(path, task.shard_size))
        if len(ranges) < 2:
            return [task]
        detection = None
        fmt = task.format
        if fmt == "auto" and not (task.source.hint and not task.fields):  # one detection for every range
            sample = [r.value for r in itertools.islice(read_rows(task.source), DETECT_SAMPLE)
                      if r.error is None and isinstance(r.value, dict)]
            detection = detect_format(sample, AdapterConfig(fields=task.fields, options=task.options,
                                                            kind=task.kind), source=task.source.display)
            fmt = detection.format
        counts = self.executor.map(count_range, [(path, r) for r in ranges])
        return [dataclasses.replace(task, byte_range=r, format=fmt, detection=detection)
                for r in numbered(ranges, counts)]

    # -- outputs ------------------------------------------------------------------------------
    def _export(self, last: StageDir) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Write every output; return their stats and how the final records were accounted for."""
        results = []
        names = stored_shards(last)
        root = self.wd.url or str(self.wd.root)
        shards = [last.path / f"{s}{SHARD_SUFFIX}" for s in names]
        total = int(last.read_stats()["out"])
        statuses: list[bytes] = []
        refusals: list[dict[int, str]] = []
        outputs_dir = self.wd.root / "outputs"
        current = {f"{i:02d}-{spec.format}" for i, spec in enumerate(self.recipe.outputs)}
        for folder in store.subfolders(outputs_dir):  # outputs the recipe no longer has
            if folder.name not in current:
                self._remove_stale(folder.name, recorded_files(folder))
                store.rmtree(folder)
        for i, spec in enumerate(self.recipe.outputs):
            exporter = build_exporter(spec.format, spec.options, f"outputs[{i}]")
            target = resolve_output_path(spec.path, root)
            fp = fingerprint("export", EXPORT_VERSION, spec.model_dump(mode="json"), last.fingerprint, target)
            stage = StageDir(outputs_dir / f"{i:02d}-{spec.format}", fp)
            status_file = stage.path / "status.bin"
            if stage.is_done() and store.exists(status_file):
                self.log(f"output {i} ({spec.format}): unchanged, skipped (resume)")
                data = stage.read_stats()
                statuses.append(store.read_bytes(status_file))
                refusals.append({int(k): v for k, v in data.get("refused", {}).items()})
                results.append(data)
                continue
            self._remove_stale(f"output {i} ({spec.format})", recorded_files(stage.path))
            stage.prepare()
            key = f"export:{i}"
            self.sink.start(key, f"export {spec.format}", total, "records")
            if joinable(exporter) is not None and not spec.shard_size:  # parts in parallel, then joined
                parts = stage.path / "parts"
                lock_mode(spec, exporter, shards)
                self.executor.map(export_part, [(t,) for t in part_tasks(spec, exporter, list(zip(names, shards,
                                                                                              strict=True)),
                                                                         parts, key, sample=self.report)])
                stats, files, status, reasons = join_parts(spec, exporter, target, names, parts, stage.dropped_dir)
                store.rmtree(parts)
            else:
                stats, files, status, reasons = self.executor.call(
                    export_output, spec, exporter, target, shards, stage.dropped_dir, key, stage.path / "profile.json")
            self.sink.finish(key)
            write_bytes_atomic(status_file, bytes(status))
            extra = {"format": spec.format, "path": target, "where": spec.where,
                     "files": [{"path": f.path, "split": f.split, "records": f.records, "sha1": f.sha1}
                               for f in files],
                     "refused": {str(k): v for k, v in reasons.items()}}
            check_reconciles(f"output {i} ({spec.format})", stats)
            check_loss(f"output {i} ({spec.format})", stats, self.recipe.max_loss, dropped_dir=stage.dropped_dir)
            stage.mark_done(stats, extra)
            for f in files:
                self.log(f"wrote {f.path} ({f.records} records)")
            for note, n in sorted(stats.notes.items()):
                self.log(f"output {i} ({spec.format}): {note}: {n}")
            statuses.append(bytes(status))
            refusals.append(reasons)
            data = stage.read_stats()
            results.append(data)
        for r in results:
            r.pop("refused", None)
        return results, account_outputs(total, statuses, refusals)

    def _remove_stale(self, label: str, files: list[str]) -> None:
        """Remove files an earlier export recorded before they are written again (or never again)."""
        removed = remove_files(files)
        if removed:
            self.log(f"{label}: removed {len(removed)} file(s) its previous export wrote: {', '.join(removed)}")

    # -- whole run ----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.cpu_started = _cpu_seconds()
        started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        store.mount(self.mount)
        if self.mount is not None:
            store.check_remote(self.mount.remote)
            store.pull_tree(self.wd.cache)  # a driver on a new machine gets the paid calls back
        self.executor: Executor = build_executor(
            self.recipe.executor, workers=self.workers, sink=self.sink, mount=self.mount,
            kind=self.executor_kind, address=self.address)
        failed = True
        try:
            if self.fresh:  # the files the outputs wrote go with the rest, wherever they were written
                for folder in store.subfolders(self.wd.root / "outputs"):
                    self._remove_stale(f"--fresh ({folder.name})", recorded_files(folder))
            self.wd.create(self.fresh)
            write_text_atomic(self.wd.lock_file, dump_resolved(self.loaded))
            inputs = self._inputs()
            stages = self._stages(inputs)
            segments = build_segments(self.loaded.steps, [spec.checkpoint for spec in self.recipe.steps])
            driver = SegmentDriver(self)
            read_tasks = self._read_tasks(inputs, stages[0].dir)
            for seg in segments:
                driver.run(seg, stages, read_tasks)
            self.wd.remove_stale_stages({s.dir.path.name for s in stages})
            outputs, accounting = self._export(stages[-1].dir)
            for line in self.executor.describe():
                self.log(line)
            failed = False
            self.executor.shutdown()  # the workers end first, so their CPU counts in this run's (summary.json)
            files_info = stages[0].dir.read_stats().get("files", [])
            return self._summary([s.dir for s in stages], files_info, outputs, accounting, started, started_at)
        finally:
            self.executor.shutdown(kill=failed)
            close_steps()
            for step in self.loaded.steps:  # the instances that ran a reduce in this process
                if step.context is not None:
                    step.teardown()
            store.push_tree(self.wd.cache)
            store.mount(None)

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
        stage_cpu = sum(float(st.get("seconds", 0)) for st in steps)
        stage_cpu += sum(float((st.get("report") or {}).get(k, 0)) for st in steps
                         for k in ("signature_seconds", "reduce_seconds"))
        stage_cpu += sum(float(o.get("seconds", 0)) for o in outputs)
        read = int(steps[0]["in"])
        written = int(accounting["written"])
        dropped.update(accounting["dropped"])
        reconciled = read + generated == written + sum(dropped.values()) + quarantined
        summary = {
            "recipe": self.recipe.name,
            "datamill_version": __version__,
            "workdir": self.wd.display,
            "started_at": started_at,
            "seconds": round(time.perf_counter() - started, 3),
            # CPU seconds of this run (this process and its workers) and the stages' own CPU seconds (work done
            # by an earlier run that this one resumed counts in the stages, not in this run)
            "cpu_seconds": {"run": round(_cpu_seconds() - self.cpu_started, 3), "stages": round(stage_cpu, 3)},
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


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended (the workers, once
    the executor shut down)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


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


def run_recipe(loaded: LoadedRecipe, workdir: Path | str, *, fresh: bool = False, workers: int | None = None,
               sink: ProgressSink | None = None, executor: str | None = None,
               address: str | None = None, report: bool = True) -> dict[str, Any]:
    """Run (or resume) ``loaded`` in ``workdir`` (a folder, or an fsspec URL such as ``s3://bucket/runs/x``)
    and return the summary written to ``summary.json``. ``executor`` (``local`` or ``ray``) and ``address``
    override the recipe's ``executor:`` block; ``report=False`` skips what only the build report needs."""
    if not loaded.recipe.inputs:
        raise InputError("the recipe has no inputs")
    if loaded.recipe.train is not None and store.is_remote(workdir):
        raise InputError("train: runs on a local work directory; this one is remote",
                         hint="run the recipe without train:, then datamill train on the exported files")
    if loaded.recipe.eval is not None and store.is_remote(workdir):
        raise InputError("eval: runs on a local work directory; this one is remote",
                         hint="run the recipe without eval:, then datamill eval on the exported test file")
    summary = Runner(loaded, workdir, fresh=fresh, workers=workers, sink=sink, executor=executor,
                     address=address, report=report).run()
    if loaded.recipe.train is not None:  # the last stage: training on the outputs (resumable)
        from datamill.train.stage import train_stage

        summary["train"] = train_stage(loaded.recipe.train, Path(workdir), (sink or QuietProgress()).log)
        write_json_atomic(WorkDir(Path(workdir)).summary_file, summary)
    if loaded.recipe.eval is not None:  # after training: the test split, the model alone and trained (resumable)
        from datamill.evaluate.stage import run_eval_stage

        summary["eval"] = run_eval_stage(loaded.recipe.eval, Path(workdir), recipe_llm=loaded.recipe.llm,
                                         train=loaded.recipe.train, log=(sink or QuietProgress()).log)
        write_json_atomic(WorkDir(Path(workdir)).summary_file, summary)
    return summary
