"""The recipe's ``eval:`` stage: after the outputs (and training), evaluate the run's test split.

Layout in the work directory::

    eval/after/     the trained model: the model with the adapter train: wrote (or eval.adapter), or the
                    fully fine-tuned model folder
    eval/before/    the model alone (eval.model, default train.model); with before: true, the default,
                    and always when nothing was trained
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
from datamill.train.spec import TrainSpec


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


def trained_weights(train: TrainSpec, root: Path) -> tuple[str | None, str | None]:
    """``(model, adapter)`` that the recipe's ``train:`` block writes: a LoRA/QLoRA adapter folder (TRL:
    ``train/adapter``; LLaMA-Factory: its output folder ``train/llamafactory``; XTuner: ``train/xtuner_hf``,
    what ``xtuner convert pth_to_hf`` writes), or a fully fine-tuned model folder (``train/model``)."""
    out = Path(train.out) if train.out and Path(train.out).is_absolute() else root / (train.out or "train")
    full = train.method == "full"
    folder = {"trl": out / ("model" if full else "adapter"), "llamafactory": out / "llamafactory",
              "xtuner": out / "xtuner_hf"}[train.backend]
    return (str(folder), None) if full else (None, str(folder))


def plan(spec: RecipeEval, root: Path, train: TrainSpec | None, log: Callable[[str], None]) -> list[tuple[str, Any]]:
    """The evaluations to run: ``before`` (the model alone) and ``after`` (trained), as ``EvalSpec``s."""
    from datamill.evaluate.run import resolve_model

    base_model = spec.model or (train.model if train is not None else None)
    if base_model is None and spec.endpoint is None:
        from datamill.errors import RecipeError

        raise RecipeError("the eval: block has no model", location="eval.model",
                          hint="name the model (hub name, folder, .gguf, smollm2), or add a train: block")
    after_model, after_adapter = (None, spec.adapter) if spec.adapter else \
        trained_weights(train, root) if train is not None else (None, None)
    base = spec.model_copy(update={"model": base_model, "adapter": None, "data": None})
    trained = base.model_copy(update={"model": after_model or base_model, "adapter": after_adapter})
    exists = Path(after_adapter or after_model or "").exists()
    if (after_adapter or after_model) and not exists and not spec.dry_run:
        log(f"eval: {after_adapter or after_model} does not exist (train: is a dry run?): evaluating the model "
            "alone")
        after_model = after_adapter = None
    runs: list[tuple[str, Any]] = []
    if spec.before or not (after_adapter or after_model):
        runs.append(("before", resolve_model(base) if not spec.dry_run else base))
    if after_adapter or after_model:
        runs.append(("after", resolve_model(trained) if not spec.dry_run else trained))
    return runs


def run_eval_stage(spec: RecipeEval, root: Path, *, recipe_llm: dict[str, Any] | None = None,
                   train: TrainSpec | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Evaluate the run's final records (its last finished stage) into ``root/eval``; returns what
    ``summary.json`` records: each evaluation's metrics and the comparison's deltas."""
    from datamill.evaluate.compare import compare
    from datamill.evaluate.data import final_stage, load_stage
    from datamill.evaluate.local import model_identity
    from datamill.evaluate.run import run_eval
    from datamill.exec.workdir import fingerprint, write_text_atomic

    folder = root / "eval"
    spec = with_recipe_llm(spec, recipe_llm)
    runs = plan(spec, root, train, log)
    if spec.dry_run:
        notes = []
        if train is not None and train.backend == "xtuner" and not spec.adapter:
            after = Path(trained_weights(train, root)[1] or "")
            notes.append(f"# XTuner saves .pth checkpoints; convert the last one first: xtuner convert pth_to_hf "
                         f"{after.parent / 'xtuner_config.py'} {after.parent / 'xtuner'}/iter_N.pth {after}")
        return dry_run(spec, root, dict(runs), log, notes)
    stage = final_stage(root)
    stage_fingerprint = (stage / "_SUCCESS").read_text(encoding="utf-8").strip()
    identities = [r.endpoint.model if r.endpoint is not None else model_identity(r.model or "", r.adapter)
                  for _, r in runs]
    fp = fingerprint("eval", "1", spec.model_dump(mode="json"), stage_fingerprint, identities)
    done = folder / "_SUCCESS"
    if done.exists() and done.read_text(encoding="utf-8").strip() == fp:
        log("eval: unchanged, skipped (resume)")
        return {**json.loads((folder / "summary.json").read_text(encoding="utf-8")), "skipped": True}
    done.unlink(missing_ok=True)
    data = load_stage(stage, spec.split or "test", spec.limit, source=str(root))
    result: dict[str, Any] = {"items": len(data.items), "split": data.split}
    for name, run_spec in runs:
        log(f"eval: {name} ({run_spec.model or run_spec.endpoint.model}"
            f"{' + ' + run_spec.adapter if run_spec.adapter else ''}) on {len(data.items)} {data.split} items")
        report = run_eval(run_spec, folder / name, data=data)
        result[name] = {"model": report["model"], "adapter": report["adapter"], "metrics": report["metrics"],
                        "answers": report["answers"], "seconds": report["seconds"]}
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
    return {**result, "skipped": False}


def dry_run(spec: RecipeEval, root: Path, runs: dict[str, Any], log: Callable[[str], None],
            notes: list[str] | None = None) -> dict[str, Any]:
    """Write ``eval/eval.yaml`` (the settings, for ``datamill eval --config``) and the commands that run the
    evaluation later (on a machine with a GPU), without generating anything."""
    import shlex

    import yaml

    from datamill.evaluate.spec import EvalSpec
    from datamill.exec.workdir import write_text_atomic

    folder = root / "eval"
    settings = spec.model_dump(mode="json", exclude_none=True, include=set(EvalSpec.model_fields))
    for key in ("data", "adapter", "model"):
        settings.pop(key, None)
    write_text_atomic(folder / "eval.yaml", yaml.safe_dump(settings, allow_unicode=True, sort_keys=False))
    q = shlex.quote
    base = (f"datamill eval --config {q(str(folder / 'eval.yaml'))} --data {q(str(root))} "
            f"--split {spec.split or 'test'}")
    commands = []
    for name, run in runs.items():
        target = f"--model {q(run.model)}" if run.model else ""
        if run.adapter:
            target += f" --adapter {q(run.adapter)}"
        commands.append(f"{base} {target.strip()} --out {q(str(folder / name))}")
    if len(runs) == 2:
        cmp = (f"datamill eval --compare {q(str(folder / 'before'))} {q(str(folder / 'after'))} "
               f"--out {q(str(folder / 'compare'))} --ci {spec.compare.ci} --samples {spec.compare.samples}")
        pairwise = spec.compare.pairwise
        if pairwise is not None:
            cmp += f" --pairwise --judge-model {q(pairwise.llm.model or '')}"
            if pairwise.llm.base_url:
                cmp += f" --judge-base-url {q(pairwise.llm.base_url)}"
        commands.append(cmp)
    write_text_atomic(folder / "commands.sh", "\n".join([*(notes or []), *commands]) + "\n")
    for command in commands:
        log(f"eval (dry run): {command}")
    return {"dry_run": True, "commands": commands}
