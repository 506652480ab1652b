"""The ``rewrite`` step: write an answer (or any field) from a template over fields and computed values."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from datamill.errors import RecipeError
from datamill.expr import ExprEvalError, compile_expr
from datamill.part_writes import WriteConflict, write
from datamill.records import Record, get_path
from datamill.selectors import PARTS, Target, check_selector, read_text
from datamill.steps.base import Drop, Params, RowStep

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][\w.]*)\}")


class RewriteParams(Params):
    template: str = Field(min_length=1, description="text with {name} placeholders: a computed value, a part "
                                                    "(prompt, answer, text...) or a field path; {{ and }} are braces")
    values: dict[str, str] = Field(default={}, description="name -> safe expression computed per record "
                                                           "(e.g. total: \"meta.price * meta.qty\")")
    to: Target = Field(default="answer", description="where the text goes: a writable part (answer: the last "
                       "assistant turn, added if missing; prompt, system, reasoning, text ...) or a field path")

    @field_validator("values")
    @classmethod
    def _compile(cls, v: dict[str, str]) -> dict[str, str]:
        for name, source in v.items():
            try:
                compile_expr(source)
            except RecipeError as exc:
                raise ValueError(exc.message) from None
            if not re.fullmatch(r"[A-Za-z_]\w*", name):
                raise ValueError(f"value name {name!r} must be an identifier")
        return v

    @model_validator(mode="after")
    def _placeholders(self) -> RewriteParams:
        for m in PLACEHOLDER.finditer(self.template):
            name = m[1]
            if name is not None and name not in self.values:
                try:
                    check_selector(name)
                except ValueError as exc:
                    raise ValueError(f"template placeholder {{{name}}}: {exc}") from None
        return self


class Rewrite(RowStep[RewriteParams]):
    """Fill ``template`` for every record and write it to ``to`` (default: the answer).

    A placeholder ``{name}`` is, in this order: a value computed by the safe expression in ``values``
    (see the ``filter`` step for the language), a record part (``prompt``, ``answer``, ``text``...),
    or a field path (``meta.unit``). ``{{``/``}}`` write literal braces. A missing field or an expression
    that fails drops the record (reasons ``rewrite_missing``, ``rewrite_error``) rather than writing
    ``None`` into training data. Numbers are written with ``str`` (exact for ints and Decimals).
    Placeholders are checked when the recipe loads: an unknown bare name is an error.

    ``to`` is written with the meaning it has when read (see ``datamill.selectors``): ``answer`` replaces
    the last assistant turn's content (appending one when there is none), ``prompt`` the single user
    turn, ``system`` the system turn (inserted when absent), ``messages.0.content`` that turn. A write
    that would be ambiguous or damage data (``answer`` of a preference record, ``prompt`` over several
    user turns, an index past the end) drops the record with reason ``field_conflict``.
    """

    name: ClassVar[str] = "rewrite"
    Params = RewriteParams
    writes: ClassVar[tuple[str, ...]] = ("messages",)

    def __init__(self, params: RewriteParams) -> None:
        super().__init__(params)
        self._values = {k: compile_expr(v) for k, v in params.values.items()}

    def lookup(self, record: Record, computed: dict[str, Any], name: str) -> Any:
        if name in computed:
            return computed[name]
        if name in PARTS:
            return read_text(record, name)
        return get_path(record, name)

    def process(self, record: Record) -> Record | Drop:
        try:
            computed = {k: fn(record) for k, fn in self._values.items()}
        except ExprEvalError as exc:
            absent = sorted({name for fn in self._values.values() for name in fn.missing(record)})
            return Drop("rewrite_error", {"error": str(exc), **({"missing": absent} if absent else {})})
        missing: list[str] = []

        def fill(m: re.Match[str]) -> str:
            if m[1] is None:
                return m[0][0]
            value = self.lookup(record, computed, m[1])
            if value is None:
                missing.append(m[1])
                return ""
            return str(value)

        text = PLACEHOLDER.sub(fill, self.params.template)
        if missing:
            return Drop("rewrite_missing", {"fields": missing})
        try:
            write(record, self.params.to, text)
        except WriteConflict as exc:
            return Drop("field_conflict", {"field": self.params.to, "error": str(exc)})
        return record
