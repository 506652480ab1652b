"""Load a recipe: YAML -> ``--set`` overrides -> ``${ENV}`` interpolation -> typed, validated models.

Errors name their location (``steps[2].params.min_chars``) and what was expected. The *resolved*
recipe written to the work directory keeps ``${VAR}`` references as written: environment values
(API keys) never reach disk.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from datamill.errors import RecipeError
from datamill.recipe.model import Recipe
from datamill.recipe.references import PARAM, check_references_used, resolve_references
from datamill.steps.base import Params, Step
from datamill.steps.registry import StepRegistry, default_registry


class RecipeYamlLoader(yaml.SafeLoader):
    """YAML 1.2-style booleans: only true/false are booleans, so ``on: prompt`` keeps the key ``on``
    (YAML 1.1 would read ``on``/``off``/``yes``/``no`` as booleans)."""


RecipeYamlLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RecipeYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def yaml_load(text: str) -> Any:
    """Parse recipe YAML (also used for ``--set`` values)."""
    return yaml.load(text, Loader=RecipeYamlLoader)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass
class LoadedRecipe:
    """A validated recipe, its folder (relative input paths resolve against it) and its steps."""

    recipe: Recipe
    base_dir: Path
    #: the recipe as written plus overrides, with ``${VAR}`` left unresolved: safe to write to disk
    resolved: dict[str, Any]
    steps: list[Step]


def format_location(loc: tuple[Any, ...]) -> str:
    """``("steps", 2, "params", "min")`` -> ``steps[2].params.min``; a key that is not a string (``True``
    from YAML 1.1's ``on:``) is written as it is, and pydantic's ``[key]`` marker is left out."""
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (str(part).lower() if isinstance(part, bool) else str(part))
    return out


def validation_error(exc: ValidationError, prefix: str = "", valid: list[str] | None = None) -> RecipeError:
    """The first error of ``exc`` as a :class:`RecipeError` at its place; ``valid`` lists the keys the
    model accepts, named in the hint of an unknown top-level key."""
    err = exc.errors()[0]
    loc = format_location(tuple(err["loc"]))
    where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif "[key]" in err["loc"]:
        key = err["loc"][-2] if len(err["loc"]) > 1 else None
        message = f"the key {key!r} is not a string"
    more = len(exc.errors()) - 1
    hint = f"{more} more problem(s) after this one" if more else None
    if err["type"] == "extra_forbidden":
        known = "none" if valid == [] else ", ".join(valid) if valid else None
        hint = (f"valid keys here: {known}" if known and len(err["loc"]) == 1
                else "check the spelling; 'datamill schema' lists every key") + (f"; {hint}" if hint else "")
    if any(isinstance(part, bool) for part in err["loc"]):
        hint = YAML11_HINT
    return RecipeError(message, hint=hint, location=where or None)


YAML11_HINT = ("a YAML 1.1 parser (PyYAML's yaml.safe_load) reads the keys on/off/yes/no as booleans: load the "
               "recipe with datamill.recipe.load.yaml_load (YAML 1.2 booleans) or quote the key ('on':)")
LOG = logging.getLogger("datamill.recipe")


def fix_boolean_keys(params: Any, location: str) -> Any:
    """Step params built by a YAML 1.1 parser have ``True`` where the recipe said ``on:`` (``yes:`` too):
    read that key as ``on`` (logged), as the user wrote it. A ``False`` key (``off:``/``no:``), or
    ``True`` next to an explicit ``on``, is an error that says what happened."""
    if isinstance(params, list):
        return [fix_boolean_keys(v, f"{location}[{i}]") for i, v in enumerate(params)]
    if not isinstance(params, dict):
        return params
    out: dict[Any, Any] = {}
    for key, value in params.items():
        where = f"{location}.{'on' if key is True else key}"
        if key is False:
            raise RecipeError("a key was read as the boolean false (was it off: or no:?)", hint=YAML11_HINT,
                              location=f"{location}.false")
        if key is True:
            if "on" in params:
                raise RecipeError("the key 'on' appears twice (once read as the boolean true)", hint=YAML11_HINT,
                                  location=where)
            LOG.warning("%s: the key true (YAML 1.1's reading of on:) is taken as 'on'", where)
            key = "on"
        out[key] = fix_boolean_keys(value, where)
    return out


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """``steps[1].params.ratios.train=0.8`` -> (path tokens, YAML-parsed value)."""
    if "=" not in text:
        raise RecipeError(f"--set expects key=value, got '{text}'", hint="e.g. --set executor.workers=2")
    key, raw = text.split("=", 1)
    tokens: list[str | int] = []
    pos = 0
    for m in _PATH_TOKEN.finditer(key):
        if m.start() != pos and key[pos:m.start()] != ".":
            raise RecipeError(f"--set: cannot parse key '{key}'")
        tokens.append(int(m.group(2)) if m.group(2) is not None else m.group(1))
        pos = m.end()
    if not tokens or pos != len(key):
        raise RecipeError(f"--set: cannot parse key '{key}'", hint="use dots and [i], e.g. steps[0].params.on")
    try:
        value = yaml_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return tokens, value


def apply_override(data: dict[str, Any], tokens: list[str | int], value: Any) -> None:
    node: Any = data
    for i, tok in enumerate(tokens[:-1]):
        nxt = tokens[i + 1]
        if isinstance(tok, int):
            if not isinstance(node, list) or tok >= len(node):
                raise RecipeError(f"--set: index [{tok}] does not exist", location=format_location(tuple(tokens)))
            node = node[tok]
        else:
            if not isinstance(node, dict):
                raise RecipeError("--set: not a mapping", location=format_location(tuple(tokens[: i + 1])))
            if tok not in node or node[tok] is None:
                node[tok] = [] if isinstance(nxt, int) else {}
            node = node[tok]
    last = tokens[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise RecipeError(f"--set: index [{last}] does not exist", location=format_location(tuple(tokens)))
        node[last] = value
    else:
        if not isinstance(node, dict):
            raise RecipeError("--set: not a mapping", location=format_location(tuple(tokens)))
        node[last] = value


def _normalize_steps(data: dict[str, Any]) -> None:
    """Rewrite short step forms to ``{step, params}`` so overrides and errors use one shape."""
    steps = data.get("steps")
    if not isinstance(steps, list):
        return
    for i, s in enumerate(steps):
        if isinstance(s, str):
            steps[i] = {"step": s, "params": {}}
        elif isinstance(s, dict) and "step" not in s and len(s) == 1:
            (name, params), = s.items()
            steps[i] = {"step": name, "params": params if params is not None else {}}


def interpolate_env(value: Any, env: dict[str, str] | None = None, where: str = "") -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in strings; a missing variable without default is an error."""
    env = dict(os.environ) if env is None else env
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise RecipeError(f"environment variable ${{{name}}} is not set", location=where or None,
                              hint=f"export {name}=... or write ${{{name}:-default}}")
        return _ENV_REF.sub(sub, value)
    if isinstance(value, list):
        return [interpolate_env(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: interpolate_env(v, env, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    return value


def build_step(registry: StepRegistry, name: str, params: dict[str, Any], location: str) -> Step:
    try:
        cls = registry.get(name)
    except RecipeError as exc:
        raise RecipeError(exc.message, hint=exc.hint, location=location) from None
    params_cls: type[Params] = cls.Params
    try:
        p = params_cls.model_validate(params or {})
    except ValidationError as exc:
        raise validation_error(exc, prefix=f"{location}.params", valid=list(params_cls.model_fields)) from None
    return cls(p)


def merge_dicts(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, recursing into nested mappings (``budget``)."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merge_dicts(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


def with_recipe_llm(registry: StepRegistry, name: str, params: dict[str, Any],
                    llm: dict[str, Any] | None) -> dict[str, Any]:
    """Merge the recipe-level ``llm:`` block into the ``llm`` param of steps that have one."""
    if not llm or name not in registry or "llm" not in registry.get(name).Params.model_fields:
        return params
    own = params.get("llm") if isinstance(params, dict) else None
    return {**params, "llm": merge_dicts(llm, own if isinstance(own, dict) else {})}


def load_recipe_data(
    data: Any,
    base_dir: Path,
    overrides: list[str] | None = None,
    registry: StepRegistry | None = None,
    env: dict[str, str] | None = None,
) -> LoadedRecipe:
    if not isinstance(data, dict):
        raise RecipeError("a recipe must be a YAML mapping with name, inputs, steps and outputs")
    data = copy.deepcopy(data)
    _normalize_steps(data)
    for i, step in enumerate(data.get("steps") or []):
        if isinstance(step, dict) and isinstance(step.get("params"), dict):
            step["params"] = fix_boolean_keys(step["params"], f"steps[{i}].params")
    for text in overrides or []:
        tokens, value = parse_override(text)
        apply_override(data, tokens, value)
    resolved = copy.deepcopy(data)
    live = interpolate_env(data, env)
    try:
        recipe = Recipe.model_validate(live)
    except ValidationError as exc:
        raise validation_error(exc) from None
    registry = registry or default_registry()
    steps: list[Step] = []
    used: set[str] = set()  # reference inputs some step compares against
    for i, s in enumerate(recipe.steps):
        params = with_recipe_llm(registry, s.step, s.params, recipe.llm)
        if s.step in registry and PARAM in registry.get(s.step).Params.model_fields:
            params, named = resolve_references(params, recipe, base_dir, f"steps[{i}]")
            used |= named
        steps.append(build_step(registry, s.step, params, f"steps[{i}]"))
    check_references_used(recipe, used)
    from datamill.export.registry import build_exporter
    from datamill.formats.base import AdapterConfig
    from datamill.formats.fields import normalize_fields
    from datamill.formats.registry import format_options, get_adapter
    from datamill.io.options import check_options

    for i, spec in enumerate(recipe.inputs):  # a wrong format name or field mapping fails before reading
        try:
            normalize_fields(spec.fields)  # the check --field shares; detected formats included
            check_options(spec.options, spec.file_format, spec.format, format_options(spec.format))
            if spec.format != "auto":
                get_adapter(spec.format,
                            AdapterConfig(fields=spec.fields, options=spec.options, kind=spec.kind))
        except RecipeError as exc:
            where = f"inputs[{i}]" + (f".{exc.location}" if exc.location else ".format")
            raise RecipeError(exc.message.removeprefix(f"{exc.location}: "), hint=exc.hint,
                              location=where) from None

    for i, out in enumerate(recipe.outputs):  # fail before any work, not at export time
        build_exporter(out.format, out.options, f"outputs[{i}]")
    return LoadedRecipe(recipe=recipe, base_dir=base_dir, resolved=resolved, steps=steps)


def load_recipe(
    path: str | Path,
    overrides: list[str] | None = None,
    registry: StepRegistry | None = None,
    env: dict[str, str] | None = None,
) -> LoadedRecipe:
    """Read and validate a recipe file. Relative input paths resolve against the recipe's folder."""
    p = Path(path)
    if not p.exists():
        raise RecipeError(f"recipe file '{path}' does not exist", hint="check the path")
    try:
        data = yaml_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise RecipeError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return load_recipe_data(data, p.resolve().parent, overrides, registry, env)


def dump_resolved(loaded: LoadedRecipe) -> str:
    return yaml.safe_dump(loaded.resolved, allow_unicode=True, sort_keys=False)
