"""``datamill plan``: how many LLM calls each step of a recipe will make, and how long at its rate.

Rows are counted by reading the inputs (an upper bound for later steps: steps before an LLM step
can only drop records). Calls already in the work directory's cache are not known without
rendering every prompt, so the plan is the cost of a fresh run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datamill.recipe.load import LoadedRecipe


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

    def minutes(self, calls: int) -> float | None:
        return None if self.rpm is None else calls / self.rpm

    def row(self) -> dict[str, Any]:
        return {"step": f"{self.index:02d}-{self.step}", "provider": self.provider, "model": self.model,
                "calls": self.calls, "calls_worst": self.calls_worst, "rpm": self.rpm,
                "minutes": self.minutes(self.calls), "minutes_worst": self.minutes(self.calls_worst),
                "note": self.note}


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


def plan_recipe(loaded: LoadedRecipe, records: int | None = None) -> tuple[int, list[StepPlan]]:
    """(records at the first step, one :class:`StepPlan` per LLM step)."""
    rows = count_input_rows(loaded) if records is None else records
    plans: list[StepPlan] = []
    for i, step in enumerate(loaded.steps, start=1):
        cfg = getattr(step.params, "llm", None)
        if cfg is None:
            continue
        retries = int(getattr(step.params, "max_parse_retries", 0))
        if step.name == "llm_generate":
            target = int(step.params.target_count)
            per_category = 3 * target * (2 if step.params.mode == "back_translate" else 1)
            calls = worst = 0
            note = (f"depends on the category counts when it runs: up to 3 x missing per category below {target} "
                    f"(at most {per_category} per category)")
        else:
            calls, worst = rows, rows * (1 + retries)
            note = "one call per record" + (f"; up to {retries} re-asks for malformed answers" if retries else "")
        if cfg.is_batch:
            note += "; batch provider: written to a batch input file, no live calls"
        plans.append(StepPlan(i, step.name, cfg.provider, cfg.model, calls, worst, cfg.rpm, note))
    return rows, plans


def render_plan(rows: int, plans: list[StepPlan]) -> str:
    def fmt(minutes: float | None) -> str:
        if minutes is None:
            return "- (no rpm)"
        hours, mins = divmod(minutes, 60)
        return f"{int(hours)}h{int(mins):02d}m" if hours else f"{minutes:.1f} min"

    lines = [f"{rows} input records", "", "| step | provider | model | calls | time at rpm | worst case | note |",
             "|---|---|---|---:|---:|---:|---|"]
    for p in plans:
        lines.append(f"| {p.index:02d}-{p.step} | {p.provider} | {p.model or '-'} | {p.calls} | "
                     f"{fmt(p.minutes(p.calls))} @ {p.rpm or '-'} | {fmt(p.minutes(p.calls_worst))} | {p.note} |")
    if not plans:
        lines.append("| (no LLM steps) | | | 0 | | | |")
    return "\n".join(lines)
