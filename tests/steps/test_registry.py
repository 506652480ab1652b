from __future__ import annotations

import re
from typing import ClassVar

import pytest

from datamill.errors import RecipeError
from datamill.records import Record
from datamill.steps.base import Drop, NoParams, RowStep
from datamill.steps.registry import StepRegistry, builtin_modules, default_registry

BUILTIN_STEPS = {
    "rename_fields", "set_fields", "drop_fields", "map_fields", "filter", "limit", "sample", "split",
    "trim_to_multiple", "dedup_exact", "dedup_minhash", "dedup_semantic", "check_leakage", "classify",
    "length", "lang_id", "score_threshold", "rewrite", "llm_judge", "llm_label", "llm_generate",
}


def test_default_registry_lists_the_builtin_steps() -> None:
    registry = default_registry()
    assert set(registry.names()) >= BUILTIN_STEPS
    assert all(registry.get(name).__module__ in builtin_modules() for name in BUILTIN_STEPS)


def _documents(cls: type, name: str) -> bool:
    """``name`` appears as a word in the docstring of the step or of a datamill base class it inherits
    the parameter from (``on`` of every filter is documented once, by ``TextFilter``)."""
    pattern = re.compile(r"(?<![\w.])" + re.escape(name) + r"(?!\w)")
    return any(pattern.search(k.__doc__ or "") for k in cls.__mro__ if k.__module__.startswith("datamill."))


def test_every_registered_step_documents_every_parameter() -> None:
    registry = default_registry()
    names = registry.names()
    assert len(names) >= 37  # every built-in step, not a sample of them
    undocumented = []
    for name in names:
        cls = registry.get(name)
        if len(cls.doc()) <= 80:
            undocumented.append(f"{name}: no docstring for 'datamill steps'")
        for field_name, field in cls.Params.model_fields.items():
            if not field.description:
                undocumented.append(f"{name}.{field_name}: no description")
            if not _documents(cls, field_name):
                undocumented.append(f"{name}.{field_name}: not named in the step's docstring")
    assert undocumented == []


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
