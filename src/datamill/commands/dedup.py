"""``datamill dedup INPUT --method exact|minhash|semantic --on ... --out DIR``: one dedup as one command.

It builds a one-input, one-step recipe and runs it like ``datamill run`` (work directory
``DIR/.datamill``, resumable): the kept records land in ``DIR/data.jsonl``, the removed ones (with the
id that kept their place and the similarity) in ``DIR/.datamill/steps/01-*/dropped/``, and the step's
``clusters.json``, ``labels.csv`` and ``summary.csv`` are copied to ``DIR``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

METHODS = {"exact": "dedup_exact", "minhash": "dedup_minhash", "semantic": "dedup_semantic"}
ARTIFACTS = ("clusters.json", "labels.csv", "summary.csv")


def dedup_recipe(inputs: list[str], method: str, on: list[str], out: Path, *, keep: str = "first",
                 params: dict[str, Any] | None = None, record_format: str = "auto",
                 fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The recipe dict ``datamill dedup`` runs."""
    from datamill.commands.convert import input_specs
    from datamill.errors import RecipeError

    if method not in METHODS:
        raise RecipeError(f"unknown dedup method '{method}'", hint=f"use one of {', '.join(METHODS)}")
    step_params: dict[str, Any] = {"on": on[0] if len(on) == 1 else on, "keep": keep, **(params or {})}
    return {
        "name": "dedup",
        "inputs": input_specs(inputs, record_format, fields),
        "steps": [{METHODS[method]: step_params}],
        "outputs": [{"format": "jsonl", "path": str(out.resolve()), "split_by": None}],
    }


def copy_artifacts(workdir: Path, out: Path) -> list[str]:
    """Copy the dedup stage's files for people into ``out``."""
    copied = []
    for stage in sorted((workdir / "steps").glob("01-*")):
        for name in ARTIFACTS:
            if (stage / name).exists():
                shutil.copyfile(stage / name, out / name)
                copied.append(name)
    return copied


def register(app: typer.Typer) -> None:
    @app.command()
    def dedup(
        inputs: Annotated[list[str], typer.Argument(help="Input file(s), glob, URL or dataset_info.json.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
        method: Annotated[str, typer.Option("--method", "-m", help="exact, minhash or semantic.")] = "minhash",
        on: Annotated[list[str] | None, typer.Option("--on", help="prompt, answer, prompt+answer, conversation, "
                                                      "text or a field path; repeat for several fields.")] = None,
        keep: Annotated[str, typer.Option("--keep", help="Survivor: first, longest.")] = "first",
        threshold: Annotated[float | None, typer.Option("--threshold", help="minhash: Jaccard threshold.")] = None,
        eps: Annotated[float | None, typer.Option("--eps", help="semantic: cosine distance threshold.")] = None,
        model: Annotated[str | None, typer.Option("--model", help="semantic: embedding model name or path.")]
        = None,
        format_: Annotated[str, typer.Option("--format", help="Input record format (default: detect).")] = "auto",
        field: Annotated[list[str] | None, typer.Option("--field", help="Field mapping PART=COLUMN, repeatable.")]
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
        """Remove duplicates from INPUT (exact, near by MinHash, or semantic) and write clusters + summary.csv."""
        from datamill import cli
        from datamill.commands.convert import parse_fields

        cli._STATE["debug"] = debug
        try:
            params: dict[str, Any] = {}
            if threshold is not None:
                params["threshold"] = threshold
            if eps is not None:
                params["eps"] = eps
            if model is not None:
                params["model"] = model
            recipe = dedup_recipe(inputs, method, on or ["prompt"], out, keep=keep, params=params,
                                  record_format=format_, fields=parse_fields(field or []))
            if out.suffix and not out.is_dir():
                from datamill.errors import RecipeError

                raise RecipeError(f"--out {out} looks like a file, but dedup writes several files (the kept "
                                  "records, clusters.json, labels.csv, summary.csv)", hint="give a folder for --out")
        except (Exception, KeyboardInterrupt) as exc:
            raise cli._fail(exc) from None
        workdir = out / ".datamill"
        if max_loss is not None:
            recipe["max_loss"] = max_loss
        cli.run_generated_recipe(recipe, workdir, fresh=fresh, workers=workers, quiet=quiet,
                                 summary_to=out / "summary.json")
        copied = copy_artifacts(workdir, out)
        if not quiet and copied:
            cli._err(f"clusters and per-source summary: {', '.join(str(out / c) for c in copied)}")

    @app.command("dedup-static")
    def dedup_static(
        model: Annotated[str, typer.Argument(help="sentence-transformers model: 'default' (bundled MiniLM), a path "
                                                  "or a cached hub name.")],
        out: Annotated[Path, typer.Argument(help="Folder to write (vectors.npy, tokenizer.json, static.json).")],
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    ) -> None:
        """Distill MODEL into static token embeddings for `dedup_semantic` with `model: static:OUT` (fast on CPU)."""
        from datamill import cli
        from datamill.steps.dedup.static import build_static

        cli._STATE["debug"] = debug
        try:
            info = build_static(model, out)
        except (Exception, KeyboardInterrupt) as exc:
            raise cli._fail(exc) from None
        cli._err(f"{info['vocab']:,} tokens x {info['dim']} dims from '{model}' in {out}; "
                 f"use it as `model: static:{out}`")
