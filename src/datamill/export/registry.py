"""Exporters by name (the ``format`` of a recipe output and of ``datamill convert --to``)."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from datamill.errors import RecipeError
from datamill.export.base import Exporter

#: name -> "module:Class"; imported on first use so heavy exporters cost nothing until used
EXPORTERS: dict[str, str] = {
    "jsonl": "datamill.export.jsonl:JsonlExporter",
    "parquet": "datamill.export.parquet:ParquetExporter",
}


def exporter_names() -> list[str]:
    return sorted(EXPORTERS)


def exporter_class(name: str) -> type[Exporter]:
    target = EXPORTERS.get(name)
    if target is None:
        raise RecipeError(f"unknown output format '{name}'", hint=f"known formats: {', '.join(exporter_names())}")
    module_name, cls_name = target.split(":")
    cls: type[Exporter] = getattr(importlib.import_module(module_name), cls_name)
    return cls


def build_exporter(name: str, options: dict[str, Any], location: str) -> Exporter:
    cls = exporter_class(name)
    try:
        opts = cls.Options.model_validate(options or {})
    except ValidationError as exc:
        from datamill.recipe.load import validation_error

        raise validation_error(exc, prefix=f"{location}.options") from None
    return cls(opts)
