"""Steps that compare the records against other data (``check_leakage``'s evaluation sets) name it in a
``reference`` param: inputs of the recipe with ``role: reference`` (by name), file paths or globs, or inline
input specs. When the recipe loads, each entry becomes a full input spec with absolute paths, so the step
reads it wherever it runs and its fingerprint changes with it; a name that matches nothing is an error
that lists the reference inputs there are, and a reference input that no step names is an error too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from datamill.errors import RecipeError
from datamill.recipe.model import InputSpec, Recipe

PARAM = "reference"


def _absolute(path: str, base_dir: Path) -> str:
    from datamill.io.sources import is_url

    if is_url(path) or path.startswith("hf://"):
        return path
    local = os.path.expanduser(path.removeprefix("file://"))
    return local if os.path.isabs(local) else str(base_dir / local)


def _looks_like_a_path(text: str) -> bool:
    return any(ch in text for ch in "/\\.*?[") or "://" in text


def _listing(recipe: Recipe) -> str:
    names = [spec.name for spec in recipe.inputs if spec.role == "reference" and spec.name]
    return ", ".join(names) if names else "none"


def _entry(item: Any, recipe: Recipe, base_dir: Path, where: str) -> dict[str, Any] | None:
    """One ``reference`` entry as an input spec with absolute paths; None when validation should say why."""
    named = {spec.name: spec for spec in recipe.inputs if spec.role == "reference" and spec.name}
    data = {spec.name for spec in recipe.inputs if spec.role == "data" and spec.name}
    hint = f"reference inputs of this recipe: {_listing(recipe)} (inputs[].role: reference); or give a file path"
    if isinstance(item, str) and item in named:
        spec = named[item]
    elif isinstance(item, str) and item in data:
        raise RecipeError(f"input '{item}' is read as training data, not as a reference", location=where,
                          hint="set role: reference on that input to compare against it (it is then kept out "
                               "of the records and the outputs)")
    elif isinstance(item, str):
        if not _looks_like_a_path(item):
            raise RecipeError(f"no reference input named '{item}'", location=where, hint=hint)
        full = _absolute(item, base_dir)
        if "://" not in full and not any(ch in full for ch in "*?[") and not os.path.exists(full):
            raise RecipeError(f"no reference input named '{item}' and no file {full}", location=where, hint=hint)
        return {"path": full, "name": item}
    elif isinstance(item, dict):
        try:
            spec = InputSpec.model_validate(item)
        except ValidationError as exc:
            from datamill.recipe.load import validation_error

            raise validation_error(exc, prefix=where) from None
    else:
        return None
    paths = [_absolute(p, base_dir) for p in spec.paths()]
    out = spec.model_copy(update={"path": paths[0] if len(paths) == 1 else paths,
                                  "name": spec.name or spec.paths()[0]})
    return out.model_dump(mode="json", exclude_defaults=True, exclude={"role"})


def resolve_references(params: Any, recipe: Recipe, base_dir: Path, location: str) -> tuple[Any, set[str]]:
    """(``params`` with its ``reference`` entries resolved (see the module doc), the reference inputs named)."""
    if not isinstance(params, dict) or params.get(PARAM) is None:
        return params, set()
    refs = params[PARAM]
    items = refs if isinstance(refs, list) else [refs]
    out = []
    for k, item in enumerate(items):
        where = f"{location}.params.{PARAM}" + (f"[{k}]" if isinstance(refs, list) else "")
        entry = _entry(item, recipe, base_dir, where)
        if entry is None:
            return params, set()
        out.append(entry)
    named = {spec.name for spec in recipe.inputs if spec.role == "reference"}
    return {**params, PARAM: out}, {str(i) for i in items if isinstance(i, str) and i in named}


def check_references_used(recipe: Recipe, used: set[str]) -> None:
    """Every input with ``role: reference`` must be named by some step's ``reference``."""
    for i, spec in enumerate(recipe.inputs):
        if spec.role == "reference" and spec.name not in used:
            raise RecipeError(f"input '{spec.name}' has role: reference but no step compares against it",
                              location=f"inputs[{i}].role",
                              hint=f"add it to a step's reference list (check_leakage: {{reference: [{spec.name}]}}), "
                                   "or remove the input")
