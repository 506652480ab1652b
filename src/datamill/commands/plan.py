"""``datamill plan RECIPE``: the LLM calls each step will make and how long they take."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        recipe: Annotated[Path, typer.Argument(help="recipe YAML file")],
        records: Annotated[int | None, typer.Option(help="assume this many input records (default: count them)")]
        = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help="override a recipe key: path=value")] = None,
        workdir: Annotated[Path | None, typer.Option("--workdir", "-w", help="a run to resume: plan only the calls "
                                                     "its cache has not answered yet, at its measured latency")]
        = None,
        latency: Annotated[float | None, typer.Option(help="seconds one call takes (default: measured in the "
                                                      "work directory's cache, else 3 s)", min=0.0)] = None,
    ) -> None:
        """Print how many LLM calls each step will make and how long they take: the larger of calls / rpm and
        calls x latency / concurrency."""
        from datamill import cli
        from datamill.llm.planning import plan_recipe, render_plan
        from datamill.recipe.load import load_recipe

        try:
            loaded = load_recipe(recipe, overrides=set_ or [])
            rows, plans = plan_recipe(loaded, records, workdir, latency)
        except (Exception, KeyboardInterrupt) as exc:
            raise cli._fail(exc) from None
        typer.echo(render_plan(rows, plans))
