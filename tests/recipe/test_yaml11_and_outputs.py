"""Recipes built by other YAML parsers (issue 10, item 5) and exporters typed like steps (item 6)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from typer.testing import CliRunner

from datamill.cli import app
from datamill.errors import RecipeError
from datamill.export.base import Exporter
from datamill.export.registry import build_exporter, exporter_class, exporter_names
from datamill.recipe.load import format_location, load_recipe_data
from datamill.recipe.schema import recipe_schema

PYYAML_RECIPE = """
name: y
inputs: [{path: a.jsonl}]
steps:
  - length: {on: prompt, min: 3}
  - classify: {rules: [{category: math, regex: '\\d', on: answer}]}
"""


def test_a_recipe_parsed_by_pyyaml_keeps_on(caplog: pytest.LogCaptureFixture) -> None:
    data = yaml.safe_load(PYYAML_RECIPE)
    assert True in data["steps"][0]["length"]  # what YAML 1.1 makes of on:
    with caplog.at_level(logging.WARNING, logger="datamill.recipe"):
        loaded = load_recipe_data(data, Path("/tmp"))
    length, classify = loaded.steps
    assert length.params.on == "prompt"
    assert classify.params.rules[0].on == "answer"
    assert "steps[0].params.on" in caplog.text and "YAML 1.1" in caplog.text
    assert loaded.resolved["steps"][0]["params"] == {"on": "prompt", "min": 3}


@pytest.mark.parametrize(("params", "location", "fragment"), [
    ({True: "prompt", "on": "answer", "min": 3}, "steps[0].params.on", "appears twice"),
    ({False: 1, "min": 3}, "steps[0].params.false", "boolean false"),
])
def test_boolean_keys_that_cannot_be_on_say_what_happened(params: dict[Any, Any], location: str,
                                                          fragment: str) -> None:
    data = {"name": "y", "inputs": [{"path": "a.jsonl"}], "steps": [{"length": params}]}
    with pytest.raises(RecipeError) as info:
        load_recipe_data(data, Path("/tmp"))
    assert info.value.location == location and fragment in info.value.message
    assert "yaml.safe_load" in str(info.value.hint)


def test_a_boolean_key_elsewhere_is_located_without_brackets() -> None:
    data = {"name": "y", "inputs": [{"path": "a.jsonl", "options": {True: 1}}]}
    with pytest.raises(RecipeError) as info:
        load_recipe_data(data, Path("/tmp"))
    assert "[key]" not in str(info.value) and "[True]" not in str(info.value)
    assert format_location(("steps", 1, "params", True, "[key]")) == "steps[1].params.true"


# -- exporters typed like steps ------------------------------------------------------------------------

def test_every_exporter_is_generic_over_its_options_model() -> None:
    for name in exporter_names():
        cls = exporter_class(name)
        args = [a for base in cls.__orig_bases__ for a in get_args(base)]  # type: ignore[attr-defined]
        assert cls.Options in args, name
        assert cls.Options.model_config.get("extra") == "forbid", name
        exporter: Exporter[Any] = build_exporter(name, {}, "outputs[0]")
        assert exporter.options == cls.Options()


def test_unknown_exporter_options_are_errors_naming_the_valid_ones() -> None:
    with pytest.raises(RecipeError) as info:
        build_exporter("trl", {"alternaton": False}, "outputs[1]")
    assert info.value.location == "outputs[1].options.alternaton"
    assert "valid keys here: mode, cot" in str(info.value.hint) and "alternation" in str(info.value.hint)
    with pytest.raises(RecipeError) as info:
        load_recipe_data({"name": "y", "inputs": [{"path": "a.jsonl"}],
                          "outputs": [{"format": "jsonl", "options": {"indent": 2}}]}, Path("/tmp"))
    assert info.value.location == "outputs[0].options.indent" and "valid keys here: none" in str(info.value.hint)


def test_schema_types_each_formats_options() -> None:
    variants = recipe_schema()["properties"]["outputs"]["items"]["anyOf"]
    by_format = {v["properties"]["format"]["const"]: v for v in variants}
    assert set(by_format) == set(exporter_names())
    trl = by_format["trl"]["properties"]["options"]
    assert trl["additionalProperties"] is False and "alternation" in trl["properties"]
    assert by_format["llamafactory-alpaca"]["properties"]["options"]["properties"]["pair_style"]


def test_formats_lists_the_options_and_steps_lists_the_names() -> None:
    runner = CliRunner()
    formats = runner.invoke(app, ["formats"])
    assert formats.exit_code == 0
    assert "- pair_style:" in formats.output and "- dataset_name:" in formats.output
    steps = runner.invoke(app, ["steps"])
    assert steps.exit_code == 0
    assert "prompt+answer" in steps.output and "meta.<column>" in steps.output
    assert "- on: selector (part, field path or list)" in steps.output
