from __future__ import annotations

from typing import ClassVar

import pytest

from datamill.errors import RecipeError
from datamill.records import Record
from datamill.steps.base import Drop, NoParams, RowStep
from datamill.steps.registry import StepRegistry, builtin_modules, default_registry

BUILTIN_STEPS = {
    "rename_fields", "set_fields", "drop_fields", "map_fields", "filter", "limit", "sample", "split",
    "trim_to_multiple", "dedup_exact",
}


def test_default_registry_lists_the_builtin_steps() -> None:
    registry = default_registry()
    assert set(registry.names()) >= BUILTIN_STEPS
    for name in BUILTIN_STEPS:
        cls = registry.get(name)
        assert cls.__module__ in builtin_modules()
        assert len(cls.doc()) > 80, f"{name} needs a docstring for 'datamill steps'"
        for field_name, field in cls.Params.model_fields.items():
            assert field.description, f"{name}.{field_name} has no description"


class _A(RowStep[NoParams]):
    name: ClassVar[str] = "same"

    def process(self, record: Record) -> Record | Drop:
        return record


class _B(_A):
    name: ClassVar[str] = "same"


def test_duplicate_name_raises() -> None:
    registry = StepRegistry()
    registry.register(_A)
    registry.register(_A)  # the same class twice is harmless
    with pytest.raises(RecipeError, match="two steps are named 'same'"):
        registry.register(_B)


def test_unknown_step_suggests_close_names() -> None:
    with pytest.raises(RecipeError, match="did you mean"):
        default_registry().get("dedup_exat")
