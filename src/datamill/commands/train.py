"""``datamill train EXPORT_OR_RUN --backend trl|llamafactory|xtuner --model M --out DIR``: train on an export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        path: Annotated[Path, typer.Argument(help="A run's work directory, an export folder or a data file.")],
        model: Annotated[str, typer.Option("--model", "-m", help="Hub name, model folder, .gguf file or 'smollm2'.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (config, adapter, train.json).")],
        backend: Annotated[str, typer.Option("--backend", help="trl (built in), llamafactory or xtuner.")] = "trl",
        method: Annotated[str, typer.Option("--method", help="lora, qlora or full.")] = "lora",
        stage: Annotated[str, typer.Option("--stage", help="auto, sft, dpo, kto, pt or rm.")] = "auto",
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Write the config and print the command only.")]
        = False,
        max_steps: Annotated[int | None, typer.Option("--max-steps", help="Stop after N optimizer steps.")] = None,
        epochs: Annotated[float | None, typer.Option("--epochs", help="Epochs (default 1).")] = None,
        lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (default 1e-4).")] = None,
        cutoff_len: Annotated[int | None, typer.Option("--cutoff-len", help="Token limit per example.")] = None,
        batch_size: Annotated[int | None, typer.Option("--batch-size", help="Examples per device per step.")] = None,
        save_steps: Annotated[int | None, typer.Option("--save-steps", help="Checkpoint every N steps.")] = None,
        template: Annotated[str | None, typer.Option("--template", help="LLaMA-Factory/XTuner template name.")]
        = None,
        split: Annotated[str, typer.Option("--split", help="The split to train on.")] = "train",
        launcher: Annotated[str | None, typer.Option("--launcher", help="Path of llamafactory-cli or xtuner.")]
        = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help="Any backend key: KEY=VALUE (YAML value).")]
        = None,
        fresh: Annotated[bool, typer.Option("--fresh", help="Discard checkpoints in --out and start over.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print train.json's content at the end.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    ) -> None:
        """Train MODEL on an export with TRL + PEFT (built in), or write LLaMA-Factory/XTuner configs and launch
        them when installed; prints the exact command. A killed TRL run resumes from its last checkpoint."""
        from datamill import cli
        from datamill.train.configs import parse_set
        from datamill.train.run import train as run_train
        from datamill.train.spec import TrainSpec

        cli._STATE["debug"] = debug
        try:
            values: dict[str, Any] = {"model": model, "backend": backend, "method": method, "stage": stage,
                                      "dry_run": dry_run, "split": split, "set": parse_set(set_ or [])}
            for key, value in (("max_steps", max_steps), ("epochs", epochs), ("lr", lr), ("cutoff_len", cutoff_len),
                               ("batch_size", batch_size), ("save_steps", save_steps), ("template", template),
                               ("launcher", launcher)):
                if value is not None:
                    values[key] = value
            from pydantic import ValidationError

            try:
                spec = TrainSpec.model_validate(values)
            except ValidationError as exc:
                from datamill.recipe.load import validation_error

                raise validation_error(exc, prefix="train") from None
            result = run_train(path, spec, out, log=(lambda _m: None) if quiet else cli._err, fresh=fresh)
        except (Exception, KeyboardInterrupt) as exc:
            raise cli._fail(exc) from None
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            typer.echo(result["command"] if result.get("dry_run") else f"{out / 'train.json'}")
