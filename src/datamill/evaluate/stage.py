"""The recipe's ``eval:`` stage: after the outputs (and training), evaluate the run's test split.

Layout in the work directory::

    eval/after/     the model with the adapter (the train: block's, or eval.adapter)
    eval/before/    the model alone (with before: true, the default; the only one without an adapter)
    eval/compare/   compare.md and compare.json: the before/after table (and the pairwise judge's cache)
    eval/_SUCCESS   the stage's fingerprint, written last

The stage is skipped when ``_SUCCESS`` holds the current fingerprint (the eval block, the records' stage
fingerprint, the model's and the adapter's identity). An interrupted stage resumes through each folder's
answer cache: nothing already generated or judged is asked again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamill.evaluate.spec import RecipeEval


def merged_llm(recipe_llm: dict[str, Any] | None, own: Any) -> Any:
    """The recipe's ``llm:`` block under a judge's own settings (the judge's keys win)."""
    from datamill.llm.config import LLMConfig
    from datamill.recipe.load import merge_dicts

    if not recipe_llm:
        return own
    return LLMConfig.model_validate(merge_dicts(recipe_llm, own.model_dump(exclude_unset=True)))


def with_recipe_llm(spec: RecipeEval, recipe_llm: dict[str, Any] | None) -> RecipeEval:
    judges = [j.model_copy(update={"llm": merged_llm(recipe_llm, j.llm)}) for j in spec.judge]
    compare = spec.compare
    if compare.pairwise is not None:
        pairwise = compare.pairwise.model_copy(update={"llm": merged_llm(recipe_llm, compare.pairwise.llm)})
        compare = compare.model_copy(update={"pairwise": pairwise})
    return spec.model_copy(update={"judge": judges, "compare": compare})


def run_eval_stage(spec: RecipeEval, root: Path, stage: Path, stage_fingerprint: str, *,
                   recipe_llm: dict[str, Any] | None = None, trained_adapter: Path | None = None,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Evaluate the records of ``stage`` (the run's last stage) into ``root/eval``; returns what
    ``summary.json`` records: each evaluation's metrics and the comparison's deltas."""
    from datamill.evaluate.compare import compare
    from datamill.evaluate.data import load_stage
    from datamill.evaluate.local import model_identity
    from datamill.evaluate.run import resolve_model, run_eval
    from datamill.exec.workdir import fingerprint, write_text_atomic

    folder = root / "eval"
    spec = with_recipe_llm(spec, recipe_llm)
    adapter = spec.adapter or (str(trained_adapter) if trained_adapter is not None else None)
    if spec.dry_run:
        return dry_run(spec, root, adapter, log)
    base = resolve_model(spec.model_copy(update={"adapter": adapter, "data": None}))
    identity = base.endpoint.model if base.endpoint is not None else model_identity(base.model or "", adapter)
    fp = fingerprint("eval", "1", spec.model_dump(mode="json"), stage_fingerprint, identity)
    done = folder / "_SUCCESS"
    if done.exists() and done.read_text(encoding="utf-8").strip() == fp:
        log("eval: unchanged, skipped (resume)")
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    done.unlink(missing_ok=True)
    data = load_stage(stage, spec.split or "test", spec.limit, source=str(root))
    result: dict[str, Any] = {"items": len(data.items), "split": data.split}
    runs: list[tuple[str, Any]] = []
    if adapter is None or spec.before:
        runs.append(("before", base.model_copy(update={"adapter": None})))
    if adapter is not None:
        runs.append(("after", base))
    for name, run_spec in runs:
        log(f"eval: {name} ({run_spec.model or run_spec.endpoint.model}"
            f"{' + ' + run_spec.adapter if run_spec.adapter else ''}) on {len(data.items)} {data.split} items")
        report = run_eval(run_spec, folder / name, data=data)
        result[name] = {"metrics": report["metrics"], "answers": report["answers"]}
        errors = report["answers"]["errors"]
        if errors:
            from datamill.errors import StepError

            raise StepError(f"eval {name}: {sum(errors.values())} answers could not be generated ({errors})",
                            hint="run again: only the missing answers are asked again")
    if len(runs) == 2:
        table = compare(folder / "before", folder / "after", folder / "compare", spec.compare)
        result["compare"] = {name: {k: m[k] for k in ("before", "after", "delta", "ci", "n")}
                             for name, m in table["metrics"].items()}
        log(f"eval: before/after table in {folder / 'compare' / 'compare.md'}")
    write_text_atomic(folder / "summary.json", json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    write_text_atomic(done, fp + "\n")
    return result


def dry_run(spec: RecipeEval, root: Path, adapter: str | None, log: Callable[[str], None]) -> dict[str, Any]:
    """Write ``eval/eval.yaml`` (the settings, for ``datamill eval --config``) and the commands that run the
    evaluation later (on a machine with a GPU), without generating anything."""
    import shlex

    import yaml

    from datamill.evaluate.spec import EvalSpec
    from datamill.exec.workdir import write_text_atomic

    folder = root / "eval"
    settings = spec.model_dump(mode="json", exclude_none=True, include=set(EvalSpec.model_fields))
    settings.pop("data", None)
    settings.pop("adapter", None)
    write_text_atomic(folder / "eval.yaml", yaml.safe_dump(settings, allow_unicode=True, sort_keys=False))
    q = shlex.quote
    base = (f"datamill eval --config {q(str(folder / 'eval.yaml'))} --data {q(str(root))} "
            f"--split {spec.split or 'test'}")
    commands = []
    if adapter is None or spec.before:
        commands.append(f"{base} --out {q(str(folder / 'before'))}")
    if adapter is not None:
        commands.append(f"{base} --adapter {q(adapter)} --out {q(str(folder / 'after'))}")
        if spec.before:
            cmp = f"datamill eval --compare {q(str(folder / 'before'))} {q(str(folder / 'after'))} " \
                  f"--out {q(str(folder / 'compare'))} --ci {spec.compare.ci} --samples {spec.compare.samples}"
            pairwise = spec.compare.pairwise
            if pairwise is not None:
                cmp += f" --pairwise --judge-model {q(pairwise.llm.model or '')}"
                if pairwise.llm.base_url:
                    cmp += f" --judge-base-url {q(pairwise.llm.base_url)}"
            commands.append(cmp)
    write_text_atomic(folder / "commands.sh", "\n".join(commands) + "\n")
    for command in commands:
        log(f"eval (dry run): {command}")
    return {"dry_run": True, "commands": commands}
