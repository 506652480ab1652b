"""The run's work directory: layout, fingerprints and completion markers.

```
WORKDIR/
  recipe.lock.yaml        the resolved recipe (``${VAR}`` references kept, never their values)
  steps/NN-name/          shards (*.jsonl.zst), per-shard stats (*.stats.json), dropped/*.jsonl,
                          stats.json, _FINGERPRINT, _SUCCESS
  quarantine/             rows that could not be parsed or processed, with location and error
  cache/                  LLM answers (llm.sqlite) and embeddings, kept across resumes and --fresh
  batch/                  batch-inference input files to submit, and the provider's output files
  review/                 people's review decisions (datamill review), read by review_apply steps
  export/                 default place for outputs
  summary.json            per-stage stats and run totals
```

The work directory may be an fsspec URL (``s3://bucket/runs/x``) that several nodes share: it is then
mounted on a local scratch folder and every file goes through :mod:`datamill.exec.store`.

A stage is skipped on resume when ``_SUCCESS`` holds its current fingerprint. A stage directory whose
``_FINGERPRINT`` differs is wiped before the stage runs again; one with the same fingerprint but no
``_SUCCESS`` was interrupted and keeps the shards it finished (each shard is published atomically and
counted as done only once its ``.stats.json`` exists).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import xxhash

from datamill.exec import store
from datamill.report.stats import StageStats

if TYPE_CHECKING:
    from datamill.recipe.load import LoadedRecipe
    from datamill.records import Record
    from datamill.steps.base import Step, StepContext


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-serialisable parts (dict keys sorted)."""
    h = xxhash.xxh3_128()
    for part in parts:
        h.update(orjson.dumps(part, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str))
        h.update(b"\x00")
    return h.hexdigest()


def step_fingerprint(step: Step, previous: str, context: StepContext | None = None) -> str:
    """A step stage's fingerprint: the step's name, version and params, chained to the stage before it,
    the files of any input the step reads besides its records (``check_leakage``'s reference sets),
    so that a changed evaluation file re-runs the step, and what else the step says its output depends on
    (:meth:`Step.fingerprint_extra`: review decisions)."""
    parts: list[Any] = ["step", step.name, step.version, step.params.model_dump(mode="json"), previous]
    extra = step.extra_inputs()
    if extra:
        from datamill.io.sources import expand_input, input_fingerprint

        parts.append([input_fingerprint(expand_input(spec, Path.cwd())) for spec in extra])
    if context is not None:
        own = step.fingerprint_extra(context)
        if own is not None:
            parts.append(own)
    return fingerprint(*parts)


def step_label(index: int, name: str, label: str | None = None) -> str:
    """The folder name of step ``index`` (1-based): ``03-dedup_minhash`` or ``03-<the step's id>``."""
    return f"{index:02d}-{label or name}"


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    store.publish(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(store.read_text(path))


@dataclass
class StageDir:
    """One stage's directory and its markers."""

    path: Path
    fingerprint: str

    @property
    def success_marker(self) -> Path:
        return self.path / "_SUCCESS"

    @property
    def fingerprint_file(self) -> Path:
        return self.path / "_FINGERPRINT"

    @property
    def dropped_dir(self) -> Path:
        return self.path / "dropped"

    def is_done(self) -> bool:
        return self._marker(self.success_marker) == self.fingerprint

    @staticmethod
    def _marker(path: Path) -> str | None:
        try:
            return store.read_text(path).strip()
        except FileNotFoundError:
            return None

    def prepare(self) -> bool:
        """Make the directory ready to (re)run. Returns True when partial work is being resumed."""
        old = self._marker(self.fingerprint_file)
        if old == self.fingerprint:
            store.remove(self.success_marker)
            if self.path.is_dir():
                for stray in self.path.rglob(".*.tmp"):  # half-written files of the killed run
                    stray.unlink(missing_ok=True)
            self.path.mkdir(parents=True, exist_ok=True)
            return True
        store.rmtree(self.path)
        self.path.mkdir(parents=True)
        write_text_atomic(self.fingerprint_file, self.fingerprint + "\n")
        return False

    def mark_done(self, stats: StageStats, extra: dict[str, Any] | None = None, *, stored: bool = True) -> None:
        """Publish the stage's stats and mark it done. ``stored``: its output records are in its folder (a
        stage fused with the ones after it has only its stats, dropped records and artifacts)."""
        data = stats.to_json()
        if extra:
            data.update(extra)
        data["stored"] = stored
        write_json_atomic(self.path / "stats.json", data)
        store.push_tree(self.path)  # artifacts a step wrote in the driver (remote work directories)
        write_text_atomic(self.success_marker, self.fingerprint + "\n")

    def is_stored(self) -> bool:
        """Done, and its output records are in its folder."""
        return self.is_done() and bool(self.read_stats().get("stored", True))

    def reset(self) -> None:
        """Forget everything the stage wrote; it starts over."""
        store.rmtree(self.path)
        self.prepare()

    def read_stats(self) -> dict[str, Any]:
        data: dict[str, Any] = read_json(self.path / "stats.json")
        return data

    def finished_fingerprint(self) -> str | None:
        """The fingerprint the stage finished with, or None when it has not finished."""
        return store.read_text(self.success_marker).strip() if store.exists(self.success_marker) else None

    def records(self) -> Iterator[Record]:
        """The stage's output records, shard by shard (a stage fused with the ones after it stored none)."""
        from datamill.exec.shards import SHARD_SUFFIX, read_shard

        for shard in store.glob(self.path, f"*{SHARD_SUFFIX}"):
            yield from read_shard(shard)


class WorkDir:
    """Paths inside a run's work directory."""

    def __init__(self, root: Path, url: str | None = None) -> None:
        self.root = root
        #: the shared location when the work directory is remote (``root`` is then its scratch folder)
        self.url = url

    @property
    def display(self) -> str:
        """Where the work directory is, as the user named it."""
        return self.url or str(self.root)

    @property
    def steps(self) -> Path:
        return self.root / "steps"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def cache(self) -> Path:
        """Caches that survive resumes and ``--fresh``: LLM answers, embeddings."""
        return self.root / "cache"

    @property
    def batch(self) -> Path:
        """Batch-inference input files for the user to submit, and the provider's output files."""
        return self.root / "batch"

    @property
    def review(self) -> Path:
        """Review decisions (``datamill review``), kept across resumes and ``--fresh``."""
        return self.root / "review"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def lock_file(self) -> Path:
        return self.root / "recipe.lock.yaml"

    @property
    def summary_file(self) -> Path:
        return self.root / "summary.json"

    def stage(self, index: int, name: str, fp: str) -> StageDir:
        return StageDir(self.steps / f"{index:02d}-{name}", fp)

    def step_context(self, stage_path: Path) -> StepContext:
        """What a step of the stage in ``stage_path`` may know about this work directory (outside a run:
        no parallelism, no progress bars)."""
        from datamill.steps.base import Artifacts, StepContext

        return StepContext(cache_dir=self.cache, artifacts=Artifacts(stage_path), batch_dir=self.batch,
                           review_dir=self.review)

    def finished_stages(self, loaded: LoadedRecipe) -> dict[int, StageDir]:
        """The stages a resume of ``loaded`` here would skip, by index: the read stage (0, taken as it is: its
        inputs are not re-checked) and each step after it whose fingerprint still matches. Their counts are in
        their stats; records only in the stages that stored them (``StageDir.is_stored``: the input of every
        LLM step and global step is)."""
        read = StageDir(self.steps / "00-read", "")
        read.fingerprint = read.finished_fingerprint() or ""
        if not read.fingerprint:
            return {}
        done = {0: read}
        previous = read.fingerprint
        for i, (step, spec) in enumerate(zip(loaded.steps, loaded.recipe.steps, strict=True), start=1):
            path = self.steps / step_label(i, step.name, spec.id)
            stage = StageDir(path, step_fingerprint(step, previous, self.step_context(path)))
            if not stage.is_done():
                break
            done[i] = stage
            previous = stage.fingerprint
        return done

    def clear_quarantine(self, prefix: str) -> None:
        """Forget quarantine files of a stage that starts over."""
        for path in store.glob(self.quarantine, f"{prefix}-*.jsonl"):
            store.remove(path)

    def create(self, fresh: bool) -> None:
        if fresh:
            for child in ("steps", "quarantine", "export", "outputs"):
                store.rmtree(self.root / child)
            for child in ("summary.json", "recipe.lock.yaml"):
                store.remove(self.root / child)
        self.root.mkdir(parents=True, exist_ok=True)
        self.steps.mkdir(exist_ok=True)

    def remove_stale_stages(self, keep: set[str]) -> None:
        """Delete stage directories that no longer belong to the recipe (e.g. a step was removed)."""
        for child in store.subfolders(self.steps):
            if child.name not in keep:
                store.rmtree(child)
