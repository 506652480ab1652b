"""``datamill report RUN_DIR``: the build report of a finished run (one HTML file + report.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Tokenizer = Annotated[str | None, typer.Option(
    "--tokenizer", help="tokenizer.json (file or folder) or a Hugging Face tokenizer: adds token-length histograms "
    "with the training cutoff")]
Cutoff = Annotated[int | None, typer.Option(
    "--cutoff", min=1, show_default=False, help="training cutoff in tokens, marked on the token histograms; "
    "default: the recipe's train: cutoff_len, else its first output check: limit, else 2048, LLaMA-Factory's "
    "cutoff_len")]


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        run_dir: Annotated[Path, typer.Argument(help="work directory of a finished run (runs/NAME)")],
        tokenizer: Tokenizer = None,
        cutoff: Cutoff = None,
        eval_: Annotated[list[Path] | None, typer.Option("--eval", help="an eval.json to include (those inside "
                                                         "the work directory are found)")] = None,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    ) -> None:
        """Write RUN_DIR/report/index.html (self-contained) and report.json from the run's statistics."""
        from datamill.cli import _STATE, _fail
        from datamill.report.build import build_report

        _STATE["debug"] = debug
        try:
            files = build_report(run_dir, tokenizer=tokenizer, cutoff=cutoff, eval_paths=tuple(eval_ or ()))
        except (Exception, KeyboardInterrupt) as exc:
            raise _fail(exc) from None
        typer.echo(f"report: {files.html}")
        typer.echo(f"numbers: {files.json}")
