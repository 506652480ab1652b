"""The ``filter`` step: keep the records for which an expression over their fields is true."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from datamill.errors import RecipeError
from datamill.expr import ExprEvalError, compile_expr
from datamill.records import Record
from datamill.steps.base import Drop, Params, RowStep

REASON_EXPR_CHARS = 60


class FilterParams(Params):
    expr: str = Field(
        min_length=1,
        description="condition to keep a record, e.g. \"len(answer) > 10 and meta.task_type != 'x'\"",
    )
    reason: str | None = Field(
        default=None, min_length=1, description="drop reason in stats.json; default 'filter:<the expression>'"
    )

    @field_validator("expr")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            compile_expr(v)
        except RecipeError as exc:
            message = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
            raise PydanticCustomError("expr", message) from None
        return v


def default_reason(expr: str) -> str:
    """``filter:`` plus the expression on one line, cut to 60 characters: each filter's drops stay apart."""
    flat = " ".join(expr.split())
    if len(flat) > REASON_EXPR_CHARS:
        flat = flat[: REASON_EXPR_CHARS - 3] + "..."
    return f"filter:{flat}"


class Filter(RowStep[FilterParams]):
    """Keep records for which ``expr`` is true; drop the rest with ``reason``.

    ``expr`` is a safe expression (see ``datamill.expr``): field paths (``meta.task_type``,
    ``scores.quality``), the text parts ``prompt``, ``answer``, ``conversation``, ``text``,
    ``reasoning``, comparisons, ``and``/``or``/``not``, arithmetic and the functions ``len lower upper
    strip contains startswith endswith matches int float str abs min max exists``. It is checked when
    the recipe loads; anything else is a recipe error. Missing fields read as null, so write
    ``exists(meta.x) and meta.x > 3`` where a field may be absent.

    Reads the fields the expression names; writes nothing. The default drop reason is
    ``filter:<expression>`` so that two filters in one recipe are counted apart in stats.json. A record
    on which the expression fails (``"a" < 1``) is dropped with reason ``expr_error`` and the error in
    its detail, never crashing the run: look at ``dropped/`` to fix the expression.
    """

    name: ClassVar[str] = "filter"
    Params = FilterParams

    def __init__(self, params: FilterParams) -> None:
        super().__init__(params)
        self._expr = compile_expr(params.expr)
        self._reason = params.reason or default_reason(params.expr)

    def process(self, record: Record) -> Record | Drop:
        try:
            keep = self._expr(record)
        except ExprEvalError as exc:
            return Drop("expr_error", {"error": str(exc)})
        return record if keep else Drop(self._reason)
