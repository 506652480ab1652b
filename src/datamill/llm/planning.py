"""``datamill plan``: how many LLM calls each step of a recipe will make, and how long they take.

Records are counted by reading the inputs (as the read stage does: the same readers and adapters, ``limit``
and reference inputs honoured). Each step then bounds what it passes on (``Step.max_records_out``: ``limit``
and ``sample`` cap it, a filter keeps at most what it gets, ``llm_generate`` adds what it synthesizes), so
the count at an LLM step that does not come first is an upper bound (shown ``<=N``).

``llm_generate`` is planned from the category counts: of its input stage in the work directory when there
is one, else of the inputs (exact when it comes first; an estimate, shown ``~N``, after other steps, which
may change the counts). When no input record has the category yet (an earlier step writes it), the calls
are unknown (``?``) and only the worst case is given.

With ``workdir`` (a run to resume), a stage that is finished there (same recipe: the fingerprints of the
steps before it match, see :meth:`WorkDir.finished_stages`) gives its exact record count, and an LLM row
step whose input stage is finished is planned from that stage's records: its prompt is rendered for each
record and the requests already answered in the run's cache are subtracted.

Time is the larger of ``calls / rpm`` and ``calls x latency / concurrency``: a server that answers one call
at a time in 2 s takes 2 s a call whatever the rate limit allows. The latency is the median of the live
calls to the same model in the work directory's cache when it has some, else an assumed default (or
``--latency``); the output says which.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datamill.exec.workdir import StageDir, WorkDir
from datamill.recipe.load import LoadedRecipe
from datamill.records import Record
from datamill.steps.base import Step

#: seconds per call assumed when nothing was measured: a hosted model answering a judge-sized prompt
DEFAULT_LATENCY_S = 3.0


@dataclass
class Latency:
    seconds: float
    #: where the number comes from, for the output
    source: str


@dataclass
class StepPlan:
    index: int
    step: str
    provider: str
    model: str | None
    #: None: unknown before the run (categories written by an earlier step)
    calls: int | None
    calls_worst: int | None
    rpm: float | None
    concurrency: int
    latency: Latency
    note: str
    #: calls is an upper bound (earlier steps may drop records)
    bound: bool = False
    #: calls is an estimate (category counts taken before earlier steps ran)
    approx: bool = False
    #: requests already answered in the work directory's cache (None: not checked)
    cached: int | None = None
    batch: bool = False

    def minutes(self, calls: int | None) -> float | None:
        """The larger of the time the rate limit allows and the time the calls take at the latency."""
        if calls is None:
            return None
        if self.batch:
            return 0.0
        by_rate = calls / self.rpm if self.rpm else 0.0
        by_latency = calls * self.latency.seconds / self.concurrency / 60
        return max(by_rate, by_latency)

    def row(self) -> dict[str, Any]:
        return {"step": f"{self.index:02d}-{self.step}", "provider": self.provider, "model": self.model,
                "calls": self.calls, "calls_worst": self.calls_worst, "rpm": self.rpm,
                "concurrency": self.concurrency, "latency_s": self.latency.seconds,
                "minutes": self.minutes(self.calls), "minutes_worst": self.minutes(self.calls_worst),
                "upper_bound": self.bound, "estimate": self.approx, "cached": self.cached, "note": self.note}


def input_records(loaded: LoadedRecipe) -> list[Record]:
    """The recipe's data inputs as canonical records (rows that do not become one are not counted)."""
    from datamill.exec.run import input_name
    from datamill.formats.input_records import input_records as read

    out: list[Record] = []
    for i, spec in enumerate(loaded.recipe.inputs):
        if spec.role == "reference":
            continue
        out.extend(r for r in read(spec, loaded.base_dir, input_name(spec, i)) if isinstance(r, dict))
    return out


def cached_requests(step: Step, records: list[Record], cache_dir: Path) -> tuple[int, int]:
    """(distinct first requests of ``records``, how many of them the cache has answered); records the step
    drops before any call (an empty answer for the judge) need none."""
    from datamill.steps.llm.common import CACHE_FILE, LLMRowStep, open_cache

    if not isinstance(step, LLMRowStep):  # a step of another shape: one call per record, cache unknown
        return len(records), 0
    step.prepare()
    keys = {step.request(step.messages(r)).key() for r in records if step.precheck(r) is None}
    if not (cache_dir / CACHE_FILE).is_file():
        return len(keys), 0
    cache = open_cache(cache_dir)
    try:
        return len(keys), sum(1 for k in keys if cache.get(k) is not None)
    finally:
        cache.close()


def measured_latency(model: str | None, cache_dir: Path | None) -> Latency | None:
    from datamill.steps.llm.common import CACHE_FILE, open_cache

    if cache_dir is None or not (cache_dir / CACHE_FILE).is_file():
        return None
    cache = open_cache(cache_dir)
    try:
        found = cache.latency(model or "")
    finally:
        cache.close()
    if found is None:
        return None
    seconds, n = found
    return Latency(round(seconds, 2), f"median of {n} live calls to {model or 'the model'} in the work directory")


def _generate_plan(step: Step, records: list[Record], where: str, exact: bool) -> tuple[int | None, int | None, str]:
    """(calls, worst case, note) of ``llm_generate`` given the records it will see (``where`` they come from)."""
    p: Any = step.params
    factor = 2 if p.mode == "back_translate" else 1
    keep = p.only_below or p.target_count
    signature = step.signature  # type: ignore[attr-defined]
    counts = Counter(cat for cat, _ in (signature(r) for r in records) if cat is not None)
    if not counts:
        worst = len(p.categories) * (p.max_attempts or 3 * p.target_count) * factor if p.categories else None
        return None, worst, (f"no record of {where} has {p.category_field} (an earlier step writes it?): the "
                             f"calls are known when it runs; at most {p.max_attempts or 3} x missing per category "
                             f"below {keep}")
    missing = {c: p.target_count - n for c, n in counts.items()
               if n < keep and (p.categories is None or c in p.categories)}
    calls = sum(missing.values()) * factor
    worst = sum(p.max_attempts or 3 * m for m in missing.values()) * factor
    caveat = "" if exact else " (earlier steps may change these counts)"
    return calls, worst, (f"{len(missing)} categories below {keep} in {where}{caveat}, {sum(missing.values())} "
                          f"records missing (one call each when every answer is usable, at most {worst}); "
                          "cached answers are re-used")


def plan_recipe(loaded: LoadedRecipe, records: int | None = None, workdir: Path | None = None,
                latency: float | None = None) -> tuple[int, list[StepPlan]]:
    """(records at the first step, one :class:`StepPlan` per LLM step); with ``workdir``, what a resume of
    that run still has to call. ``latency`` (seconds a call) overrides the measured or assumed one."""
    wd = WorkDir(workdir) if workdir is not None else None
    finished: dict[int, StageDir] = wd.finished_stages(loaded) if wd is not None else {}
    needs_records = records is None or any(s.name == "llm_generate" for s in loaded.steps)
    inputs = input_records(loaded) if needs_records else None
    rows = len(inputs or []) if records is None else records
    first_rows = rows
    bound = False
    plans: list[StepPlan] = []
    for i, step in enumerate(loaded.steps, start=1):
        stage = finished.get(i - 1)
        if stage is not None:
            rows, bound = int(stage.read_stats()["out"]), False
        cfg = getattr(step.params, "llm", None)
        added = 0
        if cfg is not None:
            plans.append(_plan_step(i, step, cfg, rows, bound, stage, finished, inputs, wd, latency))
            if step.name == "llm_generate" and plans[-1].calls is not None and i not in finished:
                added = plans[-1].calls // (2 if getattr(step.params, "mode", "") == "back_translate" else 1)
        rows = step.max_records_out(rows) + added
        bound = True
    return first_rows, plans


def _plan_step(i: int, step: Step, cfg: Any, rows: int, bound: bool, stage: StageDir | None,
               finished: dict[int, StageDir], inputs: list[Record] | None, wd: WorkDir | None,
               latency: float | None) -> StepPlan:
    retries = int(getattr(step.params, "max_parse_retries", 0))
    measured = measured_latency(cfg.model, wd.cache if wd is not None else None)
    lat = Latency(latency, "given with --latency") if latency is not None else measured or \
        Latency(DEFAULT_LATENCY_S, "assumed; --latency to change, or plan with --workdir after some calls")
    cached = None
    approx = False
    calls: int | None
    worst: int | None
    if i in finished:
        calls = worst = 0
        note = f"finished in the work directory ({finished[i].path.name}): a resume skips it"
        retries = 0
        bound = False
    elif step.name == "llm_generate":
        if stage is not None:
            calls, worst, note = _generate_plan(step, list(stage.records()), f"{stage.path.name} in the work "
                                                "directory", exact=True)
        else:
            calls, worst, note = _generate_plan(step, inputs or [], "the inputs", exact=i == 1)
            approx = i > 1
        bound = False
    elif stage is not None and wd is not None:
        total, cached = cached_requests(step, list(stage.records()), wd.cache)
        calls = total - cached
        worst = calls * (1 + retries)
        note = f"records of {stage.path.name} in the work directory, {cached} of {total} requests answered in the cache"
    else:
        calls, worst = rows, rows * (1 + retries)
        note = "one call per record" + (" (at most: earlier steps may drop records)" if bound else "")
        if wd is not None:
            note += "; the work directory has no finished input stage for it: cache not checked"
    if retries and step.name != "llm_generate":
        note += f"; up to {retries} re-asks for malformed answers"
    if cfg.is_batch:
        note += "; batch provider: written to a batch input file, no live calls"
    return StepPlan(i, step.name, cfg.provider, cfg.model, calls, worst, cfg.rpm, cfg.effective_concurrency(),
                    lat, note, bound, approx, cached, cfg.is_batch)


def _fmt(minutes: float | None) -> str:
    if minutes is None:
        return "?"
    hours, mins = divmod(minutes, 60)
    return f"{int(hours)}h{int(mins):02d}m" if hours else f"{minutes:.1f} min"


def render_plan(rows: int, plans: list[StepPlan]) -> str:
    lines = [f"{rows} input records", "",
             "| step | provider | model | calls | time | worst case | rpm | concurrency | latency | cached | note |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for p in plans:
        calls = "?" if p.calls is None else ("<=" if p.bound else "~" if p.approx else "") + str(p.calls)
        cached = "-" if p.cached is None else str(p.cached)
        worst = "?" if p.calls_worst is None else f"{_fmt(p.minutes(p.calls_worst))} ({p.calls_worst} calls)"
        lines.append(f"| {p.index:02d}-{p.step} | {p.provider} | {p.model or '-'} | {calls} | "
                     f"{_fmt(p.minutes(p.calls))} | {worst} | {p.rpm or '-'} | {p.concurrency} | "
                     f"{p.latency.seconds:g} s | {cached} | {p.note} |")
    if not plans:
        lines.append("| (no LLM steps) | | | 0 | | | | | | | |")
    lines.append("")
    lines.append("time = the larger of calls / rpm and calls x latency / concurrency (concurrency: the llm "
                 "block's, default rpm x 8 s, or 4 without rpm).")
    for source in dict.fromkeys(f"{p.latency.seconds:g} s a call: {p.latency.source}" for p in plans if not p.batch):
        lines.append(f"latency {source}.")
    return "\n".join(lines)
