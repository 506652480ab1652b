"""Prompt templates: Jinja2, sandboxed, undefined variables are errors (a typo fails loudly)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from datamill.errors import RecipeError, require


@lru_cache(maxsize=64)
def compile_template(source: str) -> Any:
    jinja2: Any = require("jinja2", "llm", "LLM prompt templates")
    sandbox: Any = require("jinja2.sandbox", "llm", "LLM prompt templates")
    env = sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                                       autoescape=False)
    env.filters["tojson_u"] = lambda v: __import__("json").dumps(v, ensure_ascii=False)
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise RecipeError(f"prompt template: {exc.message} (line {exc.lineno})") from None


def render(source: str, context: dict[str, Any]) -> str:
    return str(compile_template(source).render(**context)).strip()


def read_template(inline: str | None, path: str | None, default: str | None = None) -> str:
    """The template text from the recipe (``template``), a file (``template_file``) or the default."""
    if inline:
        return inline
    if path:
        from pathlib import Path

        p = Path(path)
        if not p.is_file():
            raise RecipeError(f"template file '{path}' does not exist")
        return p.read_text(encoding="utf-8")
    if default is None:
        raise RecipeError("give a prompt 'template' or 'template_file'")
    return default
