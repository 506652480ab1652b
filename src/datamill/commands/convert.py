"""``datamill convert INPUT --to FORMAT --out DIR``: read + export in one command.

It builds a one-input recipe (optionally with a seeded split) and runs it like ``datamill run``: the
work directory is ``DIR/.datamill`` (resumable), the files land in ``DIR``, and the run's
``summary.json`` is written to both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def parse_pairs(items: list[str], what: str) -> dict[str, str]:
    """``["prompt=question", ...]`` -> ``{"prompt": "question"}``."""
    from datamill.errors import RecipeError

    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise RecipeError(f"{what} must look like KEY=VALUE, got '{item}'")
        out[key.strip()] = value.strip()
    return out


def convert_recipe(
    inputs: list[str],
    to: str,
    out: Path,
    *,
    record_format: str = "auto",
    fields: dict[str, str] | None = None,
    split: dict[str, str] | None = None,
    stratify: str | None = None,
    seed: int = 0,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The recipe dict ``datamill convert`` runs (inputs are absolute or relative to the current folder)."""
    from datamill.errors import RecipeError

    steps: list[dict[str, Any]] = []
    if split:
        try:
            ratios = {name: float(v) for name, v in split.items()}
        except ValueError:
            raise RecipeError("--split ratios must be numbers, e.g. train=0.9") from None
        params: dict[str, Any] = {"ratios": ratios, "seed": seed}
        if stratify:
            params["stratify_by"] = stratify
        steps.append({"split": params})
    spec: dict[str, Any] = {"path": inputs[0] if len(inputs) == 1 else inputs, "format": record_format}
    if fields:
        spec["fields"] = fields
    return {
        "name": "convert",
        "inputs": [spec],
        "steps": steps,
        "outputs": [{"format": to, "path": str(out.resolve()), "options": options or {}}],
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def convert(
        inputs: Annotated[list[str], typer.Argument(help="Input file(s), glob, URL or dataset_info.json.")],
        to: Annotated[str, typer.Option("--to", help="Output format (see 'datamill formats').")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
        format_: Annotated[str, typer.Option("--format", help="Input record format (default: detect).")] = "auto",
        field: Annotated[list[str] | None, typer.Option("--field", help="Field mapping PART=COLUMN, repeatable.")]
        = None,
        split: Annotated[list[str] | None, typer.Option("--split", help="Split ratio NAME=RATIO, repeatable.")]
        = None,
        stratify: Annotated[str | None, typer.Option("--stratify", help="Field to stratify the split by.")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the split.")] = 0,
        option: Annotated[list[str] | None, typer.Option("--option", help="Exporter option KEY=VALUE (YAML value).")]
        = None,
        fresh: Annotated[bool, typer.Option("--fresh", help="Start over instead of resuming.")] = False,
        workers: Annotated[int | None, typer.Option("--workers", "-j", help="Worker processes; default: CPU cores.")]
        = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or log lines.")] = False,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    ) -> None:
        """Read INPUT and write it in another format (LLaMA-Factory, ShareGPT, OpenAI, TRL, text, hf...)."""
        from datamill import cli
        from datamill.recipe.load import yaml_load

        cli._STATE["debug"] = debug
        try:
            options = {k: yaml_load(v) for k, v in parse_pairs(option or [], "--option").items()}
            recipe = convert_recipe(
                inputs, to, out, record_format=format_, fields=parse_pairs(field or [], "--field"),
                split=parse_pairs(split or [], "--split"), stratify=stratify, seed=seed, options=options,
            )
        except (Exception, KeyboardInterrupt) as exc:
            raise cli._fail(exc) from None
        cli.run_generated_recipe(recipe, out / ".datamill", fresh=fresh, workers=workers, quiet=quiet,
                                 summary_to=out / "summary.json")
