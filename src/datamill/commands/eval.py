"""``datamill eval``: answer a test split with a model and score it; compare two evaluations; score a
trainer's predictions file; write an lm-evaluation-harness task.

    datamill eval --model M [--adapter DIR] --data TEST_FILE_OR_RUN --out DIR [--extract last_number] [--by category]
    datamill eval --base-url http://127.0.0.1:8080/v1 --model NAME --data ... --out DIR      (an endpoint)
    datamill eval --compare BEFORE_DIR AFTER_DIR --out DIR [--pairwise --judge-base-url URL --judge-model NAME]
    datamill eval --predictions generated_predictions.jsonl [--data TEST] --out DIR --extract last_number
    datamill eval --lm-eval-task --data TEST --out DIR --model M [--adapter DIR]

The library does the work (:mod:`datamill.evaluate`); this module turns flags into an
:class:`~datamill.evaluate.spec.EvalSpec` (``--config FILE`` gives one as YAML; flags win) and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

Opt = typer.Option


def spec_from_flags(config: Path | None, flags: dict[str, Any]) -> Any:
    """The :class:`EvalSpec` of ``--config`` (YAML) with the given flags on top."""
    from pydantic import ValidationError

    from datamill.errors import RecipeError
    from datamill.evaluate.spec import EvalSpec
    from datamill.recipe.load import validation_error, yaml_load

    data: dict[str, Any] = {}
    if config is not None:
        if not config.is_file():
            raise RecipeError(f"config file {config} does not exist")
        loaded = yaml_load(config.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise RecipeError(f"{config}: expected a mapping of eval settings")
        data = loaded
    for key, value in flags.items():
        if value is None:
            continue
        if isinstance(value, dict):
            data[key] = {**(data.get(key) or {}), **value}
        else:
            data[key] = value
    try:
        return EvalSpec.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, prefix="eval") from None


#: a verdict is a short JSON object: a judge that rambles is cut here (and re-asked when that breaks the JSON)
JUDGE_MAX_TOKENS = 384


def _llm(base_url: str | None, model: str | None, api_key_env: str | None, rpm: float | None,
         max_tokens: int | None = None) -> dict[str, Any] | None:
    if base_url is None and model is None:
        return None
    out: dict[str, Any] = {"provider": "openai", "model": model, "base_url": base_url}
    if max_tokens is not None:
        out["max_tokens"] = max_tokens
    if api_key_env:
        out["api_key_env"] = api_key_env
    if rpm:
        out["rpm"] = rpm
    return out


def _print_eval(report: dict[str, Any], out: Path) -> None:
    from datamill import cli

    answers = report.get("answers", {})
    cli._err(f"{report['n']} items from {report['data']['source']} ({answers.get('new', 0)} answers generated, "
             f"{answers.get('cached', 0)} from the cache)")
    for name, value in report["metrics"].items():
        shown = "-" if value is None else f"{value:.4f}"
        cli._err(f"  {name}: {shown} ({report['scored'][name]} scored)")
    for path, groups in report["by_category"].items():
        for value, group in list(groups.items())[:20]:
            metrics = ", ".join(f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in group["metrics"].items())
            cli._err(f"  {path}={value} (n={group['n']}): {metrics}")
    if answers.get("truncated"):
        cli._err(f"  {answers['truncated']} answers hit --max-new-tokens")
    cli._err(f"eval: {out / 'eval.json'}; answers: {out / 'answers.jsonl'}")


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_(
        out: Annotated[Path, Opt("--out", "-o", help="Output folder (eval.json, answers.jsonl, compare.md...).")],
        model: Annotated[str | None, Opt("--model", "-m", help="Local model (hub name, folder, .gguf, smollm2), or the "
                                        "endpoint's model name with --base-url.")] = None,
        adapter: Annotated[str | None, Opt("--adapter", help="PEFT adapter folder for the local model.")] = None,
        data: Annotated[str | None, Opt("--data", "-d", help="Test data: a file, an export folder or a run "
                                        "directory.")] = None,
        split: Annotated[str | None, Opt("--split", help="Split to evaluate (default: test for a run, all of a "
                                         "file).")] = None,
        format_: Annotated[str | None, Opt("--format", help="Record format of the data file (default: detect).")]
        = None,
        limit: Annotated[int | None, Opt("--limit", help="Evaluate at most this many items.")] = None,
        by: Annotated[list[str] | None, Opt("--by", help="Field to break metrics down by (repeatable).")] = None,
        extract: Annotated[list[str] | None, Opt("--extract", help="Exact match with this answer extractor: "
                                                 "last_number, boxed, choice, regex, text (repeatable).")] = None,
        tolerance: Annotated[float | None, Opt("--tolerance", help="Relative tolerance for numbers (default 1e-6).")]
        = None,
        pattern: Annotated[str | None, Opt("--pattern", help="Pattern of the regex extractor.")] = None,
        letters: Annotated[str | None, Opt("--letters", help="Letters of the choice extractor (default ABCD).")]
        = None,
        judge: Annotated[str | None, Opt("--judge", help="Score answers with an llm_judge rubric (sft-quality, "
                                         "mqm-translation) by the --judge-* model.")] = None,
        judge_model: Annotated[str | None, Opt("--judge-model", help="Judge model name (rubric and pairwise).")]
        = None,
        judge_base_url: Annotated[str | None, Opt("--judge-base-url", help="Judge's OpenAI-compatible endpoint.")]
        = None,
        judge_rpm: Annotated[float | None, Opt("--judge-rpm", help="Judge requests per minute.")] = None,
        judge_api_key_env: Annotated[str | None, Opt("--judge-api-key-env", help="Environment variable with the "
                                                     "judge's API key.")] = None,
        base_url: Annotated[str | None, Opt("--base-url", help="Generate through this OpenAI-compatible endpoint "
                                            "(vLLM, llama.cpp) instead of a local model.")] = None,
        api_key_env: Annotated[str | None, Opt("--api-key-env", help="Environment variable with the API key.")]
        = None,
        rpm: Annotated[float | None, Opt("--rpm", help="Endpoint requests per minute.")] = None,
        max_new_tokens: Annotated[int | None, Opt("--max-new-tokens", help="Answer length limit (default 256).")]
        = None,
        batch_size: Annotated[int | None, Opt("--batch-size", help="Local model: prompts per batch (default 8).")]
        = None,
        no_chat_template: Annotated[bool, Opt("--no-chat-template", help="Local model: send the prompt text without "
                                              "the chat template (for models trained without one).")] = False,
        system: Annotated[str | None, Opt("--system", help="System message for prompts that have none.")] = None,
        device: Annotated[str | None, Opt("--device", help="Local model: cpu, cuda... (default: cuda if any).")]
        = None,
        config: Annotated[Path | None, Opt("--config", help="YAML with the eval settings (the recipe's eval: keys but "
                                           "before, compare and dry_run); flags win.")] = None,
        compare: Annotated[tuple[Path, Path] | None, Opt("--compare", help="Compare two eval folders: BEFORE AFTER.")]
        = None,
        pairwise: Annotated[bool, Opt("--pairwise", help="With --compare: judge before vs after pairwise (both "
                                      "orders) with the --judge-* model.")] = False,
        ci: Annotated[str, Opt("--ci", help="With --compare: paired-t or bootstrap.")] = "paired-t",
        samples: Annotated[int, Opt("--samples", help="With --compare: side-by-side rows.")] = 10,
        predictions: Annotated[Path | None, Opt("--predictions", help="Score a trainer's predictions file "
                                                "(LLaMA-Factory generated_predictions.jsonl) instead of "
                                                "generating.")] = None,
        lm_eval_task: Annotated[bool, Opt("--lm-eval-task", help="Write an lm-evaluation-harness task for the "
                                          "data into --out and print the command.")] = False,
        quiet: Annotated[bool, Opt("--quiet", "-q", help="Errors only.")] = False,
        debug: Annotated[bool, Opt("--debug", help="Show tracebacks on errors.")] = False,
    ) -> None:
        """Evaluate a model (local + adapter, or an endpoint) on test data; --compare two evaluations."""
        from datamill import cli

        cli._STATE["debug"] = debug
        sink = cli._sink(quiet)
        try:
            judge_llm = _llm(judge_base_url, judge_model, judge_api_key_env, judge_rpm, JUDGE_MAX_TOKENS)
            if compare is not None:
                _compare(compare, out, ci, samples, judge_llm if pairwise else None, pairwise, quiet)
                return
            exact = [{"name": "exact_match" if len(extract or []) == 1 else f"exact_match_{e}", "extract": e,
                      **({"rel_tol": tolerance} if tolerance is not None else {}),
                      **({"pattern": pattern} if pattern else {}), **({"letters": letters} if letters else {})}
                     for e in extract or []]
            generation = {k: v for k, v in {"max_new_tokens": max_new_tokens, "batch_size": batch_size,
                                            "system": system, "device": device,
                                            "chat_template": False if no_chat_template else None}.items()
                          if v is not None}
            flags: dict[str, Any] = {
                "model": None if base_url else model, "adapter": adapter, "data": data, "split": split,
                "format": format_, "limit": limit, "by": by or None, "exact_match": exact or None,
                "judge": [{"rubric": judge, "llm": judge_llm or {}}] if judge else None,
                "endpoint": _llm(base_url, model, api_key_env, rpm) if base_url else None,
                "generation": generation or None,
            }
            spec = spec_from_flags(config, flags)
            if lm_eval_task:
                _lm_eval(spec, out)
            elif predictions is not None:
                _predictions(predictions, spec, out, quiet)
            else:
                _evaluate(spec, out, quiet)
        except (Exception, KeyboardInterrupt) as exc:
            raise cli._fail(exc) from None
        finally:
            sink.close()


def _evaluate(spec: Any, out: Path, quiet: bool) -> None:
    from datamill import cli
    from datamill.errors import StepError
    from datamill.evaluate.run import run_eval

    report = run_eval(spec, out)
    if not quiet:
        _print_eval(report, out)
    errors = report["answers"]["errors"]
    if errors:
        raise StepError(f"{sum(errors.values())} answers could not be generated ({errors}); the metrics leave them "
                        "out", hint="run the same command again: only the missing answers are asked again")
    if not spec.exact_match and not spec.judge and not quiet:
        cli._err("note: no metric was asked (--extract, --judge): answers only, e.g. for --compare --pairwise")


def _predictions(path: Path, spec: Any, out: Path, quiet: bool) -> None:
    from datamill.evaluate.data import load_data
    from datamill.evaluate.predictions import score_predictions

    data = None
    if spec.data is not None:
        data = load_data(spec.data, split=spec.split, record_format=spec.format, limit=spec.limit)
    report = score_predictions(path, spec, out, data)
    if not quiet:
        _print_eval(report, out)


def _compare(dirs: tuple[Path, Path], out: Path, ci: str, samples: int, judge_llm: dict[str, Any] | None,
             pairwise: bool, quiet: bool) -> None:
    from pydantic import ValidationError

    from datamill import cli
    from datamill.errors import RecipeError
    from datamill.evaluate.compare import compare
    from datamill.evaluate.spec import Compare
    from datamill.recipe.load import validation_error

    if pairwise and judge_llm is None:
        raise RecipeError("--pairwise needs a judge", hint="give --judge-base-url URL and --judge-model NAME")
    try:
        settings = Compare.model_validate({"ci": ci, "samples": samples,
                                           "pairwise": {"llm": judge_llm} if pairwise else None})
    except ValidationError as exc:
        raise validation_error(exc, prefix="compare") from None
    report = compare(dirs[0], dirs[1], out, settings)
    if quiet:
        return
    level = round(report["ci"]["level"] * 100)
    cli._err(f"{report['n']} paired items; {level}% CI by {report['ci']['method']}")
    for name, m in report["metrics"].items():
        if m["n"]:
            low, high = m["ci"]
            interval = "-" if low is None else f"[{low:+.4f}, {high:+.4f}]"
            cli._err(f"  {name}: {m['before']:.4f} -> {m['after']:.4f} (delta {m['delta']:+.4f}, {interval}, "
                     f"n={m['n']})")
    cli._err(f"table: {out / 'compare.md'}; numbers: {out / 'compare.json'}")


def _lm_eval(spec: Any, out: Path) -> None:
    from datamill import cli
    from datamill.errors import RecipeError
    from datamill.evaluate.data import load_data
    from datamill.evaluate.lm_eval import command, task_name, write_task

    if spec.data is None:
        raise RecipeError("--lm-eval-task needs --data")
    data = load_data(spec.data, split=spec.split, record_format=spec.format, limit=spec.limit)
    name = task_name(f"datamill_{Path(spec.data).name}_{data.split or 'all'}")
    path = write_task(data, out, name, exact=spec.exact_match[0] if spec.exact_match else None, by=spec.by,
                      max_new_tokens=spec.generation.max_new_tokens)
    model = spec.model or "MODEL"
    if spec.model is not None:
        from datamill.models import resolve_model

        ref = resolve_model(spec.model)
        if ref.kind == "gguf":  # lm_eval loads a folder: the dequantized copy datamill keeps
            model = ref.location
    cli._err(f"lm-evaluation-harness task: {path} ({len(data.items)} items)")
    typer.echo(command(path, model, spec.adapter))
