"""``datamill review RUN_DIR``: review a stage's records (and dedup clusters) in a local web app, or export
and import the decisions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("review")
    def review(
        run_dir: Annotated[Path, typer.Argument(help="work directory of a run (runs/NAME)")],
        stage: Annotated[str | None, typer.Option("--stage", help="stage to review: folder (02-llm_label), step "
                                                  "name or index; default: the one a review_apply step reads, "
                                                  "else the last")] = None,
        port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port on 127.0.0.1 (0: any free one)")]
        = 0,
        label_field: Annotated[str, typer.Option("--label-field", help="the field reviewers label (an llm_label "
                                                 "step's field)")] = "category",
        limit: Annotated[int, typer.Option("--limit", min=1, help="records loaded for review")] = 200_000,
        export: Annotated[bool, typer.Option("--export", help="write the decisions in force as JSON Lines and "
                                             "exit (to --out, default stdout)")] = False,
        all_events: Annotated[bool, typer.Option("--all-events", help="with --export: every event, undos "
                                                 "included")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="with --export: file to write")] = None,
        import_: Annotated[Path | None, typer.Option("--import", help="add the decisions of an exported file "
                                                     "(another reviewer's) and exit")] = None,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    ) -> None:
        """Open a local review app (127.0.0.1, a token in the URL): accept, reject or edit records with the
        keyboard; decisions are stored append-only in RUN_DIR/review/ and applied by a review_apply step."""
        from datamill.cli import _STATE, _fail

        _STATE["debug"] = debug
        try:
            if export or import_ is not None:
                _export_import(run_dir, export, all_events, out, import_)
                return
            _serve(run_dir, stage, port, label_field, limit)
        except KeyboardInterrupt:
            typer.echo("stopped; the decisions are saved", err=True)
        except Exception as exc:
            raise _fail(exc) from None


def _export_import(run_dir: Path, export: bool, all_events: bool, out: Path | None, import_: Path | None) -> None:
    from datamill.review.store import DecisionStore, export_lines

    store = DecisionStore(run_dir / "review")
    if import_ is not None:
        added = store.import_events(import_)
        typer.echo(f"imported {added} new decisions into {store.path}", err=True)
    if export:
        lines = export_lines(store.snapshot(), all_events=all_events)
        if out is None:
            for line in lines:
                sys.stdout.buffer.write(line)
            sys.stdout.flush()
        else:
            out.write_bytes(b"".join(lines))
            typer.echo(f"wrote {out}", err=True)


def _serve(run_dir: Path, stage: str | None, port: int, label_field: str, limit: int) -> None:
    from datamill.review.server import ReviewApp, ReviewServer

    app = ReviewApp(run_dir, stage, label_field=label_field, limit=limit)
    server = ReviewServer(app, port)
    typer.echo(f"reviewing {app.stage.name}: {len(app.items)} records, {len(app.clusters)} dedup clusters")
    typer.echo(f"decisions: {app.store.path}")
    typer.echo(f"open {server.url}")
    typer.echo("Ctrl+C stops the server (decisions are saved as you make them)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
