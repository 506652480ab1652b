from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from datamill.errors import RecipeError
from datamill.recipe.load import dump_resolved, load_recipe, load_recipe_data, parse_override
from datamill.recipe.schema import describe_steps, recipe_schema

BASE = {
    "name": "t",
    "inputs": [{"path": "data/*.jsonl"}],
    "steps": [{"dedup_exact": {"on": "prompt"}}, {"split": {"ratios": {"train": 0.9, "test": 0.1}, "seed": 0}}],
    "outputs": [{"format": "jsonl", "path": "export/"}],
}


def load(data: dict, overrides: list[str] | None = None, env: dict[str, str] | None = None):
    return load_recipe_data(data, Path("/tmp"), overrides, env=env or {})


def test_issue_shape_loads_with_short_step_form() -> None:
    loaded = load(BASE)
    assert [s.step for s in loaded.recipe.steps] == ["dedup_exact", "split"]
    assert loaded.recipe.steps[1].params == {"ratios": {"train": 0.9, "test": 0.1}, "seed": 0}
    assert [s.name for s in loaded.steps] == ["dedup_exact", "split"]


def test_long_step_form_is_equivalent() -> None:
    data = dict(BASE, steps=[{"step": "dedup_exact", "params": {"on": "prompt"}}])
    assert load(data).recipe.steps[0].params == {"on": "prompt"}


@pytest.mark.parametrize(
    ("patch", "location", "message"),
    [
        ({"inputs": [{"path": "x", "formt": "alpaca"}]}, "inputs[0].formt", "unknown key"),
        ({"outputs": [{"format": "jsonl", "shard_size": 0}]}, "outputs[0].shard_size", "greater than or equal"),
        ({"steps": [{"split": {"ratios": {"train": 0.9, "test": 0.1}, "seed": "abc"}}]}, "steps[0].params.seed",
         "integer"),
        ({"steps": [{"limit": {"n": 5}}, {"dedup_exact": {"on": "prompt", "bogus": 1}}]}, "steps[1].params.bogus",
         "unknown key"),
        ({"name": "has space"}, "name", "pattern"),
        ({"inputs": []}, "inputs", "at least 1"),
    ],
)
def test_errors_name_their_location(patch: dict, location: str, message: str) -> None:
    with pytest.raises(RecipeError) as info:
        load({**BASE, **patch})
    assert info.value.location == location
    assert message in info.value.message
    assert str(info.value.message).startswith(location + ":")


def test_unknown_step_suggests_close_names() -> None:
    with pytest.raises(RecipeError) as info:
        load({**BASE, "steps": [{"dedup_exakt": {}}]})
    assert info.value.location == "steps[0]"
    assert "dedup_exact" in (info.value.hint or "")


def test_set_overrides_reach_into_steps_inputs_and_executor() -> None:
    loaded = load(BASE, ["steps[1].params.seed=7", "executor.workers=3", "inputs[0].path=other/*.json",
                         "steps[1].params.ratios={train: 0.5, test: 0.5}"])
    assert loaded.recipe.steps[1].params["seed"] == 7
    assert loaded.recipe.steps[1].params["ratios"] == {"train": 0.5, "test": 0.5}
    assert loaded.recipe.executor.workers == 3
    assert loaded.recipe.inputs[0].path == "other/*.json"


@pytest.mark.parametrize("bad", ["novalue", "steps[x.params=1", "steps[9].params.seed=1"])
def test_bad_overrides_are_clear_errors(bad: str) -> None:
    with pytest.raises(RecipeError):
        load(BASE, [bad])


def test_parse_override_types_values_as_yaml() -> None:
    assert parse_override("a.b[2].c=0.5") == (["a", "b", 2, "c"], 0.5)
    assert parse_override("a=true") == (["a"], True)
    assert parse_override("a=hello world") == (["a"], "hello world")


def test_env_values_are_used_but_never_written(tmp_path: Path) -> None:
    data = {**BASE, "inputs": [{"path": "${DATA_DIR}/*.jsonl", "options": {"revision": "${SECRET_TOKEN}"}}]}
    loaded = load(data, env={"DATA_DIR": "/data", "SECRET_TOKEN": "sk-very-secret"})
    assert loaded.recipe.inputs[0].path == "/data/*.jsonl"
    assert loaded.recipe.inputs[0].options["revision"] == "sk-very-secret"
    dumped = dump_resolved(loaded)
    assert "sk-very-secret" not in dumped
    assert "${SECRET_TOKEN}" in dumped


def test_missing_env_variable_is_an_error_with_location() -> None:
    data = {**BASE, "inputs": [{"path": "${NOPE_NOT_SET}/x.jsonl"}]}
    with pytest.raises(RecipeError) as info:
        load(data)
    assert "NOPE_NOT_SET" in info.value.message
    assert info.value.location == "inputs[0].path"
    assert load(dict(data, inputs=[{"path": "${NOPE_NOT_SET:-fallback}/x.jsonl"}])).recipe.inputs[0].path == \
        "fallback/x.jsonl"


def test_load_recipe_file_and_yaml_errors(tmp_path: Path) -> None:
    good = tmp_path / "r.yaml"
    good.write_text(yaml.safe_dump(BASE))
    loaded = load_recipe(good)
    assert loaded.base_dir == tmp_path
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninputs: [\n")
    with pytest.raises(RecipeError, match="not valid YAML at line"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "missing.yaml")


def test_schema_lists_every_step_and_validates_shape() -> None:
    schema = recipe_schema()
    json.dumps(schema)
    names = {s["name"] for s in describe_steps()}
    assert {"dedup_exact", "split", "sample", "filter", "limit", "trim_to_multiple"} <= names
    variants = schema["properties"]["steps"]["items"]["anyOf"]
    short_names = {next(iter(v["properties"])) for v in variants if "step" not in v["properties"]}
    assert names == short_names
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(BASE, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**BASE, "steps": [{"split": {"nope": 1}}]}, schema)


def test_output_format_and_options_are_checked_at_load() -> None:
    with pytest.raises(RecipeError) as info:
        load({**BASE, "outputs": [{"format": "jsonl"}, {"format": "nope"}]})
    assert info.value.location == "outputs[1].format"
    assert "jsonl" in (info.value.hint or "")
    with pytest.raises(RecipeError) as info:
        load({**BASE, "outputs": [{"format": "jsonl", "options": {"bogus": 1}}]})
    assert info.value.location == "outputs[0].options.bogus"


def test_input_format_and_field_mapping_are_checked_at_load() -> None:
    with pytest.raises(RecipeError) as info:
        load({**BASE, "inputs": [{"path": "x.jsonl", "format": "alpacka"}]})
    assert info.value.location == "inputs[0].format"
    assert "alpaca" in (info.value.hint or "")
    with pytest.raises(RecipeError) as info:
        load({**BASE, "inputs": [{"path": "x.jsonl", "format": "qa", "fields": {"promt": "q"}}]})
    assert (info.value.location or "").startswith("inputs[0].fields")
