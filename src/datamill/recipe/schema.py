"""JSON Schema of recipes (for editors), with each step's parameters spelled out."""

from __future__ import annotations

from typing import Any

from datamill.recipe.model import Recipe
from datamill.steps.registry import StepRegistry, default_registry


def recipe_schema(registry: StepRegistry | None = None) -> dict[str, Any]:
    registry = registry or default_registry()
    schema = Recipe.model_json_schema()
    defs = schema.setdefault("$defs", {})
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
    schema["title"] = "datamill recipe"
    return schema


def describe_steps(registry: StepRegistry | None = None) -> list[dict[str, Any]]:
    """Every step with its family, docs and parameters (name, type, default, description)."""
    from datamill.steps.base import GlobalStep

    registry = registry or default_registry()
    out = []
    for name in registry.names():
        cls = registry.get(name)
        params = []
        schema = cls.Params.model_json_schema()
        for pname, field in cls.Params.model_fields.items():
            prop = schema.get("properties", {}).get(pname, {})
            ptype = prop.get("type") or " | ".join(
                str(x.get("type", x.get("$ref", "?")).split("/")[-1]) for x in prop.get("anyOf", [])
            ) or "object"
            params.append({
                "name": pname,
                "type": ptype,
                "required": field.is_required(),
                "default": None if field.is_required() else field.get_default(call_default_factory=True),
                "description": field.description or "",
            })
        out.append({
            "name": name,
            "family": "global" if issubclass(cls, GlobalStep) else "row",
            "version": cls.version,
            "module": cls.__module__,
            "doc": cls.doc(),
            "params": params,
        })
    return out
