"""Exporters by name (the ``format`` of a recipe output and of ``datamill convert --to``).

Every module under ``datamill.export`` that defines an :class:`Exporter` subclass with a ``name``
contributes it. Exporter modules import heavy packages (``datasets``) lazily, inside methods.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from pydantic import ValidationError

from datamill.errors import RecipeError
from datamill.export.base import Exporter

_NOT_EXPORTER_MODULES = frozenset({"datamill.export.base", "datamill.export.registry"})


@cache
def _exporters() -> dict[str, type[Exporter]]:
    import datamill.export as package

    found: dict[str, type[Exporter]] = {}
    for info in sorted(pkgutil.walk_packages(package.__path__, prefix="datamill.export."), key=lambda i: i.name):
        if info.name in _NOT_EXPORTER_MODULES:
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Exporter) and obj.__module__ == module.__name__
                    and "name" in obj.__dict__):
                if obj.name in found and found[obj.name] is not obj:
                    raise RecipeError(f"two exporters are named '{obj.name}'")
                found[obj.name] = obj
    return found


def exporter_names() -> list[str]:
    return sorted(_exporters())


def exporter_class(name: str) -> type[Exporter]:
    cls = _exporters().get(name)
    if cls is None:
        raise RecipeError(f"unknown output format '{name}'", hint=f"known formats: {', '.join(exporter_names())}")
    return cls


def build_exporter(name: str, options: dict[str, Any], location: str) -> Exporter:
    """An exporter with validated options; errors name ``outputs[i].options.KEY``."""
    try:
        cls = exporter_class(name)
    except RecipeError as exc:
        raise RecipeError(exc.message, hint=exc.hint, location=f"{location}.format") from None
    try:
        opts = cls.Options.model_validate(options or {})
    except ValidationError as exc:
        from datamill.recipe.load import validation_error

        raise validation_error(exc, prefix=f"{location}.options", valid=list(cls.Options.model_fields)) from None
    return cls(opts)
