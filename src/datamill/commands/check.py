"""``datamill check EXPORT_OR_RUN --model M``: the handoff check (token lengths, truncation, trainer rules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        path: Annotated[Path, typer.Argument(help="A run's work directory, an export folder or a data file.")],
        model: Annotated[str, typer.Option("--model", "-m", help="Hub name, model folder, .gguf file or 'smollm2'.")],
        backend: Annotated[str, typer.Option("--backend", help="llamafactory, trl or xtuner.")] = "llamafactory",
        cutoff_len: Annotated[int | None, typer.Option("--cutoff-len", help="The trainer's length limit (default: "
                                                       "LLaMA-Factory 2048, TRL 1024, XTuner 2048).")] = None,
        template: Annotated[str | None, typer.Option("--template", help="A Jinja chat template file to use instead "
                                                     "of the tokenizer's own.")] = None,
        packing: Annotated[bool, typer.Option("--packing", help="The trainer packs examples (LLaMA-Factory then "
                                              "drops those over the limit).")] = False,
        limit: Annotated[int | None, typer.Option("--limit", help="Read at most this many rows per file.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    ) -> None:
        """Measure an export with the target model's tokenizer and chat template, and say what the trainer
        would truncate (and how), reject or silently alter, before any GPU time is spent."""
        from datamill import cli
        from datamill.handoff.check import check_handoff, render_report
        from datamill.handoff.source import data_files
        from datamill.models import load_tokenizer

        cli._STATE["debug"] = debug
        try:
            data_files(path)  # a wrong path fails before the tokenizer is loaded
            tokenizer = load_tokenizer(model)
            if template:
                tokenizer.chat_template = Path(template).read_text(encoding="utf-8")
            report = check_handoff(path, model, backend=backend, cutoff_len=cutoff_len, packing=packing,
                                   limit=limit, tokenizer=tokenizer)
        except (Exception, KeyboardInterrupt) as exc:
            raise cli._fail(exc) from None
        if as_json:
            typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            typer.echo(render_report(report))
