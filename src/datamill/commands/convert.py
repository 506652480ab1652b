"""``datamill convert INPUT --to FORMAT --out DIR``: read + export in one command.

It builds a one-input recipe (optionally with a seeded split) and runs it like ``datamill run``: the
work directory is ``DIR/.datamill`` (resumable), the files land in ``DIR``, and the run's
``summary.json`` is written to both. ``--out FILE`` with the format's extension writes one file instead
(work directory ``.datamill-FILE`` and ``FILE.summary.json`` beside it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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


def parse_fields(items: list[str]) -> dict[str, str]:
    """``--field PART=COLUMN`` options as a ``fields:`` mapping, checked by the same validator as a
    recipe's ``fields:`` (:func:`datamill.formats.fields.normalize_fields`): an unknown part is an error
    before anything is read."""
    from datamill.errors import RecipeError
    from datamill.formats.fields import normalize_fields

    fields = parse_pairs(items, "--field")
    try:
        normalize_fields(fields)
    except RecipeError as exc:
        key = (exc.location or "").removeprefix("fields.")
        message = exc.message.removeprefix(f"{exc.location}: ")
        raise RecipeError(message, hint=exc.hint, location=f"--field {key}={fields.get(key, '')}") from None
    return fields


def input_specs(inputs: list[str], record_format: str = "auto",
                fields: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One recipe input per path given on the command line: each file is its own source (its own name
    in ids, ``source`` and per-source reports); a glob stays one input."""
    specs: list[dict[str, Any]] = []
    for path in inputs:
        spec: dict[str, Any] = {"path": path, "format": record_format}
        if fields:
            spec["fields"] = dict(fields)
        specs.append(spec)
    return specs


@dataclass(frozen=True)
class OutTarget:
    """Where ``--out`` puts things: a folder (files named by split, the work directory inside it) or one
    file (its work directory and summary next to it)."""

    path: Path
    single_file: bool

    @property
    def workdir(self) -> Path:
        if self.single_file:
            return self.path.parent / f".datamill-{self.path.name}"
        return self.path / ".datamill"

    @property
    def summary(self) -> Path:
        if self.single_file:
            return self.path.parent / f"{self.path.name}.summary.json"
        return self.path / "summary.json"


def out_target(out: Path | str, to: str, options: dict[str, Any], *, split: bool = False) -> OutTarget:
    """Decide whether ``--out`` names a folder or a single file, and refuse what cannot work.

    A path ending in a slash, an existing folder, or a name without an extension is a folder. A path with
    the extension the format writes (``train.jsonl`` for jsonl, ``data.json`` for the LLaMA-Factory
    formats) is one file; a path with another extension is an error (never a folder with a file's name).
    """
    from datamill.errors import RecipeError
    from datamill.export.registry import build_exporter

    extension = build_exporter(to, options, "--to").extension
    folder = isinstance(out, str) and out.endswith(("/", os.sep))
    out = Path(out)
    if folder or out.is_dir() or not out.suffix:
        return OutTarget(out, single_file=False)
    if not out.name.endswith(extension):
        raise RecipeError(
            f"--out {out} looks like a file, but the {to} format writes '{extension}' files",
            hint=f"give a folder, or a file name ending in '{extension}'",
        )
    if split:
        raise RecipeError(f"--out {out} is one file, but --split writes one file per split",
                          hint="give a folder for --out")
    return OutTarget(out, single_file=True)


def convert_recipe(
    inputs: list[str],
    to: str,
    out: Path | str,
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
    single = out_target(out, to, options or {}, split=bool(split)).single_file
    # a folder keeps its slash: the export takes a path ending in the format's extension for one file
    output: dict[str, Any] = {"format": to, "path": str(Path(out).resolve()) + ("" if single else "/"),
                              "options": options or {}}
    if single:
        output["split_by"] = None
    return {
        "name": "convert",
        "inputs": input_specs(inputs, record_format, fields),
        "steps": steps,
        "outputs": [output],
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def convert(
        inputs: Annotated[list[str], typer.Argument(help="Input file(s), glob, URL or dataset_info.json.")],
        to: Annotated[str, typer.Option("--to", help="Output format (see 'datamill formats').")],
        out: Annotated[str, typer.Option("--out", "-o", help="Output folder (a name ending in / always is one), or "
                                                               "one file with the format's extension (train.jsonl, "
                                                               "data.json).")],
        format_: Annotated[str, typer.Option("--format", help="Input record format (default: detect).")] = "auto",
        field: Annotated[list[str] | None, typer.Option("--field", help="Field mapping PART=COLUMN, repeatable.")]
        = None,
        split: Annotated[list[str] | None, typer.Option("--split", help="Split ratio NAME=RATIO, repeatable.")]
        = None,
        stratify: Annotated[str | None, typer.Option(
            "--stratify", help="Field path to stratify the split by (category, meta.<column>).")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the split.")] = 0,
        option: Annotated[list[str] | None, typer.Option("--option", help="Exporter option KEY=VALUE (YAML value).")]
        = None,
        max_loss: Annotated[float | None, typer.Option(
            "--max-loss", help="Share of the input a stage may lose (drop or quarantine) before the run fails; "
            "default: only losing everything fails.")] = None,
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
                inputs, to, out, record_format=format_, fields=parse_fields(field or []),
                split=parse_pairs(split or [], "--split"), stratify=stratify, seed=seed, options=options,
            )
            target = out_target(out, to, options, split=bool(split))
        except (Exception, KeyboardInterrupt) as exc:
            raise cli._fail(exc) from None
        if max_loss is not None:
            recipe["max_loss"] = max_loss
        cli.run_generated_recipe(recipe, target.workdir, fresh=fresh, workers=workers, quiet=quiet,
                                 summary_to=target.summary)
