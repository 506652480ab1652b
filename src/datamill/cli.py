"""The ``datamill`` command line. Thin: it parses, calls the library, prints, and picks exit codes.

Exit codes: 0 success; 1 unexpected error; 2 recipe or usage error; 3 input error; 4 a step failed;
5 an optional dependency is missing; 6 data loss (a stage lost all, or more than max_loss, of its
input); 130 interrupted. Every command reports errors through one path (``_App.command``); ``--debug`` or
``DATAMILL_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from datamill.commands.report import Cutoff as ReportCutoff
from datamill.errors import DatamillError

if TYPE_CHECKING:
    from datamill.recipe.load import LoadedRecipe

class _App(typer.Typer):
    """Typer whose every command goes through one error path (:func:`_guard`): a ``DatamillError`` prints
    its sentence and hint and exits with its code; anything else exits 1 with a hint; ``--debug`` shows
    the traceback. Commands registered anywhere (``datamill.commands``) get it by using ``@app.command``."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            register(_guard(fn))
            return fn

        return decorator


def _is_cli_control(exc: BaseException) -> bool:
    """An exit, abort or usage error of the command-line layer (typer, or the click it wraps or vendors):
    it carries its own exit code and message. Recognized by where its class comes from, so that no version
    of typer (which stopped depending on click) changes what is passed through."""
    return any(c.__module__.split(".")[0] in ("typer", "click") for c in type(exc).__mro__[:-1])


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("debug"):
            _STATE["debug"] = True
        try:
            return fn(*args, **kwargs)
        except (Exception, KeyboardInterrupt) as exc:
            if _is_cli_control(exc):
                raise
            raise _fail(exc) from None

    return guarded


app = _App(
    name="datamill",
    help="Turn raw, messy data into training-ready datasets for LLM fine-tuning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_STATE: dict[str, bool] = {"debug": False}

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or log lines; errors only.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]


def _err(text: str) -> None:
    typer.echo(text, err=True)


def _fail(exc: BaseException) -> typer.Exit:
    import os

    if _STATE["debug"] or os.environ.get("DATAMILL_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, DatamillError):
        _err(f"error: {exc.message}")
        if exc.hint:
            _err(f"hint: {exc.hint}")
        return typer.Exit(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        _err("interrupted; run the same command again to resume")
        return typer.Exit(130)
    _err(f"error: unexpected {type(exc).__name__}: {exc}")
    _err("hint: run again with --debug for the traceback, and please report it")
    return typer.Exit(1)


def _sink(quiet: bool) -> Any:
    """Progress bars on stderr (or nothing with --quiet); log lines of datamill's loggers at INFO and
    above (e.g. an LLM step's calls done/total, achieved requests/min, errors, tokens, ETA) are printed
    above the bars."""
    from datamill.exec.progress import QuietProgress, RichProgress

    sink = QuietProgress() if quiet else RichProgress()
    logger = logging.getLogger("datamill")
    for old in [h for h in logger.handlers if isinstance(h, _SinkHandler)]:
        logger.removeHandler(old)
    if not quiet:
        logger.addHandler(_SinkHandler(sink))
        logger.setLevel(logging.INFO)
    return sink


class _SinkHandler(logging.Handler):
    """Forwards log records to the progress display so they do not break the bars."""

    def __init__(self, sink: Any) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: Any) -> None:
        self.sink.log(self.format(record))


@app.command()
def run(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file.")],
    workdir: Annotated[str | None, typer.Option(
        "--workdir", "-w", help="Work directory (a folder, or s3://bucket/prefix shared by a cluster); "
                                "default runs/<name>.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a recipe key: steps[0].params.on=answer")]
    = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start over instead of resuming.")] = False,
    workers: Annotated[int | None, typer.Option("--workers", "-j", help="Worker processes; default: CPU cores.")]
    = None,
    executor: Annotated[str | None, typer.Option(
        "--executor", help="local (a process pool) or ray (a Ray cluster; the ray extra: "
                           "pip install 'datamill\\[ray]'); default: the recipe's executor.type.")] = None,
    address: Annotated[str | None, typer.Option(
        "--address", help="Ray cluster to join: auto, HOST:PORT or ray://HOST:10001; default: RAY_ADDRESS, "
                          "else a Ray instance on this machine.")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the HTML build report "
                                            "(WORKDIR/report/index.html) nor collect what only it needs.")] = False,
    tokenizer: Annotated[str | None, typer.Option("--tokenizer", help="Add token-length histograms to the report "
                                                  "(tokenizer.json or a Hugging Face tokenizer).")] = None,
    cutoff: ReportCutoff = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Run a recipe (resumes by default: unchanged finished steps are skipped), then write its build report.
    The work directory may be an s3:// (or other fsspec) URL that every node of a cluster shares."""
    _STATE["debug"] = debug
    from datamill.recipe.load import load_recipe

    if executor not in (None, "local", "ray"):
        from datamill.errors import RecipeError

        raise _fail(RecipeError(f"--executor must be local or ray, not {executor!r}"))
    where = workdir if workdir is None or "://" in workdir else Path(workdir)
    summary = _run_loaded(lambda: load_recipe(recipe, overrides=set_ or []), where, fresh=fresh, workers=workers,
                          quiet=quiet, executor=executor, address=address, report=not no_report)
    if not no_report:
        if "://" in str(summary["workdir"]):
            if not quiet:
                _err("report: not written for a remote work directory (run datamill report on a local copy)")
        else:
            _write_report(Path(summary["workdir"]), tokenizer, cutoff, quiet)


def _write_report(workdir: Path, tokenizer: str | None, cutoff: int | None, quiet: bool) -> None:
    """The build report after a run; a failure here is reported but does not fail the finished run."""
    from datamill.report.build import build_report

    try:
        files = build_report(workdir, tokenizer=tokenizer, cutoff=cutoff)
    except Exception as exc:
        _err(f"warning: the build report could not be written: {type(exc).__name__}: {exc}")
        _err(f"hint: the run itself finished; try: datamill report {workdir} --debug")
        return
    if not quiet:
        _err(f"report: {files.html}")


def run_generated_recipe(recipe: dict[str, Any], workdir: Path, *, fresh: bool, workers: int | None, quiet: bool,
                         summary_to: Path | None = None) -> dict[str, Any]:
    """Run a recipe that a command built (``convert``, ``dedup``): progress, errors and totals exactly as
    ``datamill run`` shows them; ``summary_to`` gets a copy of ``summary.json``."""
    from datamill.recipe.load import load_recipe_data

    return _run_loaded(lambda: load_recipe_data(recipe, Path.cwd()), workdir, fresh=fresh, workers=workers,
                       quiet=quiet, summary_to=summary_to)


def _run_loaded(load: Callable[[], LoadedRecipe], workdir: Path | str | None, *, fresh: bool, workers: int | None,
                quiet: bool, summary_to: Path | None = None, executor: str | None = None,
                address: str | None = None, report: bool = True) -> dict[str, Any]:
    """Load (errors in the recipe count as run errors), run with progress bars, print the totals.
    ``workdir`` defaults to ``runs/<recipe name>``."""
    from datamill.exec.run import run_recipe

    sink = None
    try:
        loaded = load()
        sink = _sink(quiet)
        summary = run_recipe(loaded, workdir or Path("runs") / loaded.recipe.name, fresh=fresh, workers=workers,
                             sink=sink, executor=executor, address=address, report=report)
        if summary_to is not None:
            summary_to.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except (Exception, KeyboardInterrupt) as exc:
        if sink is not None:
            sink.close()
        raise _fail(exc) from None
    sink.close()
    if not quiet:
        _print_totals(summary)
    return summary


def _print_totals(summary: dict[str, Any]) -> None:
    t = summary["totals"]
    dropped = ", ".join(f"{k}: {v}" for k, v in t["dropped"].items()) or "none"
    _err(f"read {t['read']}  written {t['written']}  dropped {sum(t['dropped'].values())} ({dropped})  "
         f"quarantined {t['quarantined']}  in {summary['seconds']:.1f}s")
    if t["quarantined"]:
        _err(f"{t['quarantined']} rows were quarantined; see {summary['workdir']}/quarantine/")
    _err(f"summary: {summary['workdir']}/summary.json")


@app.command()
def inspect(
    path: Annotated[str, typer.Argument(help="File, glob, s3:// URL, hf://org/dataset or dataset_info.json.")],
    format_: Annotated[str, typer.Option("--format", help="Record format (default: detect).")] = "auto",
    samples: Annotated[int, typer.Option("--samples", "-n", help="Canonical samples to show.")] = 3,
    field: Annotated[list[str] | None, typer.Option("--field", help="Field mapping PART=COLUMN, repeatable.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    debug: Debug = False,
) -> None:
    """Detect an input's format and show its record count, field statistics and a few samples."""
    _STATE["debug"] = debug
    from datamill.commands.convert import parse_fields
    from datamill.inspect import inspect_path, render_inspection

    try:
        result = inspect_path(path, record_format=format_, samples=samples, fields=parse_fields(field or []))
    except (Exception, KeyboardInterrupt) as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(render_inspection(result))


@app.command()
def steps(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List every step with its parameters and documentation."""
    from datamill.recipe.schema import describe_names, describe_steps

    try:
        items = describe_steps()
    except Exception as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False, indent=2, default=str))
        return
    for item in items:
        first = item["doc"].split("\n\n")[0].replace("\n", " ")
        typer.echo(f"{item['name']}  ({item['family']} step)\n    {first}")
        _echo_params(item["params"])
        typer.echo("")
    names = describe_names()
    typer.echo("names (on:, to:, field paths); a bare name that is neither a part nor a field is an error:")
    for part, what in names["parts"].items():
        typer.echo(f"    {part:<14} {what}")
    typer.echo(f"    field paths    {names['field_path']}; they start with one of: {', '.join(names['field_roots'])}")
    typer.echo(f"    writable parts {', '.join(names['writable_parts'])}")


def _echo_params(params: list[dict[str, Any]]) -> None:
    for p in params:
        shown = json.dumps(p["default"], default=str, ensure_ascii=False)
        default = "required" if p["required"] else f"default {shown}"
        typer.echo(f"    - {p['name']}: {p['type']} ({default}) {p['description']}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of recipes (for editors and validation)."""
    from datamill.recipe.schema import recipe_schema

    typer.echo(json.dumps(recipe_schema(), indent=2, ensure_ascii=False))


@app.command()
def formats() -> None:
    """List the input record formats and the output formats."""
    from datamill.formats.registry import adapter_names, get_adapter
    from datamill.recipe.schema import describe_exporters

    typer.echo("input formats (inputs[].format):")
    for name in adapter_names():
        typer.echo(f"  {name:<14} {getattr(get_adapter(name, None), 'description', '')}")
    typer.echo("output formats (outputs[].format, convert --to) and their options (outputs[].options):")
    for item in describe_exporters():
        typer.echo(f"  {item['name']:<14} {item['description']}")
        _echo_params(item["options"])


@app.command()
def version() -> None:
    """Print the datamill version."""
    from datamill import __version__

    typer.echo(__version__)


def _register_commands() -> None:
    import importlib
    import pkgutil

    import datamill.commands as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"datamill.commands.{info.name}")
        module.register(app)


_register_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
