"""Every documented command, invoked as a user would (typer's CliRunner, plus a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from datamill.cli import app

runner = CliRunner()


def _recipe(tmp_path: Path, steps: list | None = None) -> Path:
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"q{i % 7}", "input": "", "output": f"a{i % 7}"}) + "\n"
                            for i in range(40)) + "{broken\n", encoding="utf-8")
    recipe = {"name": "cli", "inputs": [{"path": "in.jsonl"}],
              "steps": steps if steps is not None else [{"dedup_exact": {"on": "prompt"}}],
              "outputs": [{"format": "jsonl", "path": "export/"}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_run_prints_totals_and_reports_quarantine(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(_recipe(tmp_path)), "--workdir", str(tmp_path / "w"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "read 41" in result.output
    assert "written 7" in result.output
    assert "quarantined 1" in result.output
    summary = json.loads((tmp_path / "w/summary.json").read_text())
    assert summary["totals"] == {"read": 41, "written": 7, "dropped": {"duplicate_exact": 33}, "quarantined": 1}
    quarantine = [json.loads(line) for f in (tmp_path / "w/quarantine").glob("*.jsonl")
                  for line in f.read_text().splitlines()]
    assert len(quarantine) == 1
    assert quarantine[0]["location"].endswith("in.jsonl:41")


def test_run_with_set_override_and_quiet(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(_recipe(tmp_path)), "-w", str(tmp_path / "w"), "-q", "-j", "1",
                                 "--set", "steps[0].params.on=answer"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    lock = yaml.safe_load((tmp_path / "w/recipe.lock.yaml").read_text())
    assert lock["steps"][0]["params"]["on"] == "answer"


def test_recipe_errors_are_one_sentence_with_hint_and_exit_2(tmp_path: Path) -> None:
    path = _recipe(tmp_path, steps=[{"limit": {"n": -3}}])
    result = runner.invoke(app, ["run", str(path), "-w", str(tmp_path / "w")])
    assert result.exit_code == 2
    assert "error: steps[0].params.n:" in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["run", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


def test_missing_input_is_exit_3(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "inputs": [{"path": "nothing/*.jsonl"}]}))
    result = runner.invoke(app, ["run", str(path), "-w", str(tmp_path / "w")])
    assert result.exit_code == 3
    assert "error:" in result.output and "hint:" in result.output


def test_steps_lists_params_and_docs() -> None:
    result = runner.invoke(app, ["steps"])
    assert result.exit_code == 0
    assert "dedup_exact" in result.output and "trim_to_multiple" in result.output
    as_json = json.loads(runner.invoke(app, ["steps", "--json"]).output)
    split = next(s for s in as_json if s["name"] == "split")
    assert {p["name"] for p in split["params"]} >= {"ratios", "seed"}
    assert split["family"] == "global"


def test_schema_is_json() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "datamill recipe"


def test_inspect_reports_format_count_fields_and_samples(tmp_path: Path) -> None:
    _recipe(tmp_path)
    result = runner.invoke(app, ["inspect", str(tmp_path / "in.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)["files"][0]
    assert info["record_format"] == "alpaca"
    assert info["detection"]["confidence"] >= 0.9
    assert info["records"] == 41
    assert sum(info["unparseable"].values()) == 1
    assert info["fields"]["instruction"]["present"] == 40
    assert len(info["samples"]) == 3
    text = runner.invoke(app, ["inspect", str(tmp_path / "in.jsonl")])
    assert "alpaca" in text.output and "records:" in text.output


def test_formats_and_version() -> None:
    assert runner.invoke(app, ["version"]).output.strip()
    out = runner.invoke(app, ["formats"]).output
    assert "alpaca" in out and "parquet" in out


def test_import_datamill_loads_no_heavy_packages() -> None:
    code = ("import sys, datamill, datamill.cli, datamill.recipe.load, datamill.steps.registry;"
            "datamill.steps.registry.default_registry();"
            "heavy = [m for m in ('torch', 'datasets', 'sentence_transformers', 'faiss', 'ray', 'pandas', "
            "'openai', 'boto3', 'transformers', 'llamafactory', 'trl', 'peft', 'gguf') if m in sys.modules];"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_python_m_datamill_help() -> None:
    out = subprocess.run([sys.executable, "-m", "datamill", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "run" in out.stdout and "inspect" in out.stdout


def test_every_command_reports_errors_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = str(tmp_path / "missing.yaml")
    for args in (["run", missing], ["plan", missing]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "does not exist" in result.output and "Traceback" not in result.output
    from datamill.llm import planning

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something nobody expected")

    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\ninputs: [{path: x.jsonl}]\n")
    monkeypatch.setattr(planning, "plan_recipe", broken)
    result = CliRunner().invoke(app, ["plan", str(recipe), "--records", "1"])
    assert result.exit_code == 1
    assert "unexpected RuntimeError: something nobody expected" in result.output
    assert "--debug" in result.output and "Traceback" not in result.output


def _datamill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m datamill ARGS`` in a real process, as a user runs it, importing the datamill under test
    (a relative PYTHONPATH would not survive the change of folder)."""
    import os

    import datamill

    src = str(Path(datamill.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "datamill", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def test_convert_with_a_wrong_field_mapping_exits_6_naming_the_stage_and_reason(tmp_path: Path) -> None:
    source = tmp_path / "qa.jsonl"
    source.write_text("".join(json.dumps({"question": f"q{i}", "answer": f"a{i}"}) + "\n" for i in range(5)),
                      encoding="utf-8")
    out = _datamill("convert", str(source), "--to", "openai", "--out", str(tmp_path / "out"), "-q", "-j", "1",
                    "--format", "qa", "--field", "prompt=questoin", "--field", "answer=answer", cwd=tmp_path)
    assert out.returncode == 6, out.stderr
    assert "Traceback" not in out.stderr
    error = next(line for line in out.stderr.splitlines() if line.startswith("error: "))
    assert error.startswith("error: reading qa.jsonl lost 5 of 5 rows")  # the stage and how much
    assert "quarantined: 5" in error  # the reason
    assert "questoin" in error  # the example names the field the mapping asked for
    assert any(line.startswith("hint: ") and "--field" in line for line in out.stderr.splitlines())
    assert not list((tmp_path / "out").glob("*.jsonl"))


@pytest.mark.parametrize(("expr", "code", "listed"), [
    # a bare name that is no part or field: refused when the recipe loads, with the names that exist
    ("len(answr) > 0", 2, ["unknown name 'answr'", "did you mean answer?", "fields: id, source"]),
    # a path no record has: found when the stage ran, with the fields the first record has
    ("meta.scroe > 1", 4, ["meta.scroe", "none of the 40 records has", "the first record has:", "messages"]),
])
def test_run_with_a_filter_on_a_missing_field_exits_non_zero_listing_the_fields(
        tmp_path: Path, expr: str, code: int, listed: list[str]) -> None:
    path = _recipe(tmp_path, steps=[{"filter": {"expr": expr}}])
    out = _datamill("run", str(path), "--workdir", str(tmp_path / "w"), "-q", "-j", "1", cwd=tmp_path)
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr
    error = next(line for line in out.stderr.splitlines() if line.startswith("error: "))
    for text in listed:
        assert text in error, (text, error)


def test_the_cli_needs_no_click(tmp_path: Path) -> None:
    """typer (0.29) vendors click and no longer installs it: the core install has no ``click`` module, and the
    CLI must run and report errors without it (before, ``import click`` made every command fail on a fresh
    machine, while the test environment had click from other packages)."""
    src = Path(__file__).resolve().parents[2] / "src"
    code = ("import sys; sys.modules['click'] = None; sys.path.insert(0, sys.argv[1]); sys.argv = sys.argv[1:]; "
            "sys.argv[0] = 'datamill'; from datamill.cli import main; main()")
    helped = subprocess.run([sys.executable, "-c", code, str(src), "--help"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert helped.returncode == 0 and "convert" in helped.stdout, helped.stderr[-2000:]
    failed = subprocess.run([sys.executable, "-c", code, str(src), "convert", "missing.json", "--to", "jsonl",
                             "--out", "x/"], capture_output=True, text=True, cwd=tmp_path)
    assert failed.returncode in (2, 3), failed.stderr[-2000:]
    assert "error:" in failed.stderr + failed.stdout and "Traceback" not in failed.stderr
