"""``datamill plan``: how many LLM calls each step of a recipe will make, and how long at its rate.

Without a work directory, rows are counted by reading the inputs: the count is exact for an LLM step
that comes first and an upper bound (shown ``<=N``) after other steps, which may drop records.

With ``workdir`` (a run to resume), an LLM row step whose input stage is complete there (same recipe:
the fingerprints of the steps before it match) is planned from that stage's records: its prompt is
rendered for each record and the requests already answered in ``cache/llm.sqlite`` are subtracted, so
the plan shows the calls still to make. ``llm_generate`` is planned from the category counts of its
input stage (at least the missing records, at most ``max_attempts`` per category).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datamill.recipe.load import LoadedRecipe
from datamill.records import Record
from datamill.steps.base import Step


@dataclass
class StepPlan:
    index: int
    step: str
    provider: str
    model: str | None
    calls: int
    calls_worst: int
    rpm: float | None
    note: str
    #: calls is an upper bound (earlier steps may drop records)
    bound: bool = False
    #: requests already answered in the work directory's cache (None: not checked)
    cached: int | None = None

    def minutes(self, calls: int) -> float | None:
        return None if self.rpm is None else calls / self.rpm

    def row(self) -> dict[str, Any]:
        return {"step": f"{self.index:02d}-{self.step}", "provider": self.provider, "model": self.model,
                "calls": self.calls, "calls_worst": self.calls_worst, "rpm": self.rpm,
                "minutes": self.minutes(self.calls), "minutes_worst": self.minutes(self.calls_worst),
                "upper_bound": self.bound, "cached": self.cached, "note": self.note}


def count_input_rows(loaded: LoadedRecipe) -> int:
    from datamill.io.read import read_rows
    from datamill.io.sources import expand_input

    total = 0
    for spec in loaded.recipe.inputs:
        n = 0
        for source in expand_input(spec, loaded.base_dir):
            for _ in read_rows(source):
                n += 1
                if spec.limit is not None and n >= spec.limit:
                    break
        total += n
    return total


def _success(stage: Path) -> str | None:
    marker = stage / "_SUCCESS"
    return marker.read_text().strip() if marker.is_file() else None


def finished_stages(loaded: LoadedRecipe, workdir: Path) -> dict[int, Path]:
    """The stages of ``workdir`` a resume would skip: the read stage (0, taken as it is) and each step
    after it whose fingerprint (its params and version, chained to the stage before) still matches."""
    from datamill.exec.workdir import WorkDir, fingerprint

    steps_dir = WorkDir(workdir).steps
    fp = _success(steps_dir / "00-read")
    if fp is None:
        return {}
    done = {0: steps_dir / "00-read"}
    for j, (step, spec) in enumerate(zip(loaded.steps, loaded.recipe.steps, strict=True), start=1):
        fp = fingerprint("step", step.name, step.version, step.params.model_dump(mode="json"), fp)
        stage = steps_dir / f"{j:02d}-{spec.id or step.name}"
        if _success(stage) != fp:
            break
        done[j] = stage
    return done


def stage_records(stage: Path) -> Iterator[Record]:
    from datamill.exec.shards import SHARD_SUFFIX, read_shard

    for shard in sorted(stage.glob(f"*{SHARD_SUFFIX}")):
        yield from read_shard(shard)


def cached_requests(step: Step, stage: Path, cache_path: Path) -> tuple[int, int]:
    """(distinct first requests of the stage's records, how many of them the cache has answered)."""
    from datamill.llm.cache import LLMCache
    from datamill.steps.llm.common import LLMRowStep

    if not isinstance(step, LLMRowStep):  # a step of another shape: one call per record, cache unknown
        return sum(1 for _ in stage_records(stage)), 0
    step.prepare()
    keys = {step.request(step.messages(r)).key() for r in stage_records(stage)}
    if not cache_path.is_file():
        return len(keys), 0
    cache = LLMCache(cache_path)
    try:
        return len(keys), sum(1 for k in keys if cache.get(k) is not None)
    finally:
        cache.close()


def _generate_plan(step: Step, stage: Path | None) -> tuple[int, int, str]:
    p = step.params
    factor = 2 if p.mode == "back_translate" else 1
    if stage is None:
        return 0, 0, (f"depends on the category counts when it runs: up to 3 x missing per category below "
                      f"{p.only_below or p.target_count} (at most {3 * p.target_count * factor} per category)")
    signature = step.signature  # type: ignore[attr-defined]
    counts = Counter(cat for cat, _ in (signature(r) for r in stage_records(stage)) if cat is not None)
    keep = p.only_below or p.target_count
    missing = {c: p.target_count - n for c, n in counts.items()
               if n < keep and (p.categories is None or c in p.categories)}
    calls = sum(missing.values()) * factor
    worst = sum(p.max_attempts or 3 * m for m in missing.values()) * factor
    return calls, worst, (f"{len(missing)} categories below {keep} in the work directory, {sum(missing.values())} "
                          f"records missing (at least one call each, at most {worst}); cached answers are re-used")


def plan_recipe(loaded: LoadedRecipe, records: int | None = None,
                workdir: Path | None = None) -> tuple[int, list[StepPlan]]:
    """(records at the first step, one :class:`StepPlan` per LLM step); with ``workdir``, what a resume of
    that run still has to call."""
    rows = count_input_rows(loaded) if records is None else records
    finished = finished_stages(loaded, workdir) if workdir is not None else {}
    plans: list[StepPlan] = []
    for i, step in enumerate(loaded.steps, start=1):
        cfg = getattr(step.params, "llm", None)
        if cfg is None:
            continue
        retries = int(getattr(step.params, "max_parse_retries", 0))
        stage = finished.get(i - 1)
        bound, cached = False, None
        if i in finished:
            calls = worst = 0
            note = f"finished in the work directory ({finished[i].name}): a resume skips it"
            retries = 0
        elif step.name == "llm_generate":
            calls, worst, note = _generate_plan(step, stage)
        elif stage is not None:
            total, cached = cached_requests(step, stage, workdir / "cache" / "llm.sqlite")  # type: ignore[operator]
            calls = total - cached
            worst = calls * (1 + retries)
            note = f"records of {stage.name} in the work directory, {cached} of {total} requests answered in the cache"
        else:
            calls, worst = rows, rows * (1 + retries)
            bound = i > 1
            note = "one call per record" + (" (at most: earlier steps may drop records)" if bound else "")
            if workdir is not None:
                note += "; the work directory has no finished input stage for it: cache not checked"
        if retries and step.name != "llm_generate":
            note += f"; up to {retries} re-asks for malformed answers"
        if cfg.is_batch:
            note += "; batch provider: written to a batch input file, no live calls"
        plans.append(StepPlan(i, step.name, cfg.provider, cfg.model, calls, worst, cfg.rpm, note, bound, cached))
    return rows, plans


def render_plan(rows: int, plans: list[StepPlan]) -> str:
    def fmt(minutes: float | None) -> str:
        if minutes is None:
            return "- (no rpm)"
        hours, mins = divmod(minutes, 60)
        return f"{int(hours)}h{int(mins):02d}m" if hours else f"{minutes:.1f} min"

    lines = [f"{rows} input records", "",
             "| step | provider | model | calls | time at rpm | worst case | cached | note |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for p in plans:
        calls = f"<={p.calls}" if p.bound else str(p.calls)
        cached = "-" if p.cached is None else str(p.cached)
        lines.append(f"| {p.index:02d}-{p.step} | {p.provider} | {p.model or '-'} | {calls} | "
                     f"{fmt(p.minutes(p.calls))} @ {p.rpm or '-'} | {fmt(p.minutes(p.calls_worst))} | {cached} | "
                     f"{p.note} |")
    if not plans:
        lines.append("| (no LLM steps) | | | 0 | | | | |")
    return "\n".join(lines)
