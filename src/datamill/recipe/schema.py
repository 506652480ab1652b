"""JSON Schema of recipes (for editors), with each step's parameters spelled out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from datamill.recipe.model import Recipe
from datamill.steps.registry import StepRegistry, default_registry


def recipe_schema(registry: StepRegistry | None = None) -> dict[str, Any]:
    registry = registry or default_registry()
    schema = Recipe.model_json_schema()
    defs = schema.setdefault("$defs", {})
    defs["datamill_names"] = {"description": "names for on:, to:, field paths (see datamill steps)",
                              **_names_schema()}
    variants: list[dict[str, Any]] = []
    for name in registry.names():
        cls = registry.get(name)
        params = cls.Params.model_json_schema()
        for key, value in params.pop("$defs", {}).items():
            defs.setdefault(key, value)
        params.setdefault("description", cls.doc().split("\n\n")[0])
        short = {
            "type": "object",
            "properties": {name: params},
            "required": [name],
            "additionalProperties": False,
            "description": cls.doc().split("\n\n")[0],
        }
        long = {
            "type": "object",
            "properties": {"step": {"const": name}, "params": params, "id": {"type": "string"}},
            "required": ["step"],
            "additionalProperties": False,
        }
        variants.extend([short, long])
    schema["properties"]["steps"] = {"type": "array", "items": {"anyOf": variants}, "title": "Steps"}
    schema["properties"]["outputs"] = {"type": "array", "items": {"anyOf": _output_variants(defs)},
                                       "title": "Outputs"}
    schema["title"] = "datamill recipe"
    return schema


def _names_schema() -> dict[str, Any]:
    from datamill.selectors import vocabulary

    names = vocabulary()
    return {"anyOf": [{"enum": list(names["parts"])},
                      {"type": "string", "pattern": r"^(" + "|".join(names["field_roots"]) + r")(\.[^.]+)*$"}],
            "examples": [*names["parts"], "meta.<column>", "scores.<name>"]}


def _output_variants(defs: dict[str, Any]) -> list[dict[str, Any]]:
    """One schema per output format: ``format`` fixed, ``options`` typed by that exporter's model."""
    from datamill.export.registry import exporter_class, exporter_names

    base = defs.get("OutputSpec", {})
    variants = []
    for name in exporter_names():
        cls = exporter_class(name)
        options = cls.Options.model_json_schema()
        for key, value in options.pop("$defs", {}).items():
            defs.setdefault(key, value)
        props = dict(base.get("properties", {}))
        props["format"] = {"const": name, "description": cls.description}
        props["options"] = {**options, "description": f"options of the {name} format"}
        variants.append({**base, "properties": props, "title": f"output {name}"})
    return variants


def type_name(prop: dict[str, Any]) -> str:
    """A short type for ``datamill steps``: selector names are named for what they accept."""
    from datamill.selectors import PARTS, WRITABLE_PARTS

    text = str(prop)
    if str(list(PARTS)) in text:
        return "selector (part, field path or list)" if "array" in text else "name (part or field path)"
    if str(list(WRITABLE_PARTS)) in text:
        return "target (writable part or field path)"
    if "pattern" in text and "meta" in text and "scores" in text:
        return "field path"
    return prop.get("type") or " | ".join(
        str(x.get("type", x.get("$ref", "?"))).split("/")[-1] for x in prop.get("anyOf", [])
    ) or "object"


def describe_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Every parameter of a step's (or an exporter's) model: name, type, required, default, description."""
    params = []
    schema = model.model_json_schema()
    for pname, field in model.model_fields.items():
        prop = schema.get("properties", {}).get(pname, {})
        params.append({
            "name": pname,
            "type": type_name(prop),
            "required": field.is_required(),
            "default": None if field.is_required() else field.get_default(call_default_factory=True),
            "description": field.description or "",
        })
    return params


def describe_exporters() -> list[dict[str, Any]]:
    """Every output format with its description and options."""
    from datamill.export.registry import exporter_class, exporter_names

    return [{"name": name, "description": exporter_class(name).description,
             "options": describe_params(exporter_class(name).Options)} for name in exporter_names()]


def describe_names() -> dict[str, Any]:
    """The names steps accept for ``on:``, ``to:`` and field paths (``datamill.selectors``)."""
    from datamill.selectors import vocabulary

    return vocabulary()


def describe_steps(registry: StepRegistry | None = None) -> list[dict[str, Any]]:
    """Every step with its family, docs and parameters (name, type, default, description)."""
    from datamill.steps.base import GlobalStep

    registry = registry or default_registry()
    out = []
    for name in registry.names():
        cls = registry.get(name)
        out.append({
            "name": name,
            "family": "global" if issubclass(cls, GlobalStep) else "row",
            "version": cls.version,
            "module": cls.__module__,
            "doc": cls.doc(),
            "params": describe_params(cls.Params),
        })
    return out
