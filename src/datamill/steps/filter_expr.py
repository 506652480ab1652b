"""The ``filter`` step: keep the records for which an expression over their fields is true."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from datamill.errors import RecipeError
from datamill.expr import MISSING_NOTE, ExprEvalError, check_fields_seen, compile_expr
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

    ``expr`` is a safe expression (the language is in ``docs/expressions.md``): the text parts
    (``prompt``, ``answer``, ``system``, ``reasoning``, ``turns``, ``text``), field paths
    (``meta.task_type``, ``scores.quality``, ``messages[-1].role``), comparisons, ``and``/``or``/``not``,
    arithmetic and the functions ``len lower upper strip contains startswith endswith matches int float
    str abs min max exists``. It is checked when the recipe loads: an unknown name (``answr``) or anything
    outside the language is a recipe error. Missing fields read as null, so write ``exists(meta.x) and
    meta.x > 3`` where a field may be absent; a number compared with a numeric string (a CSV column)
    compares as numbers (noted as ``coerced_numeric``).

    Reads the fields the expression names; writes nothing. The default drop reason is
    ``filter:<expression>`` so that two filters in one recipe are counted apart in stats.json. A record
    on which the expression fails (``"a" < 1``, ``len(meta.x)`` without ``meta.x``) is dropped with reason
    ``expr_error``, the error and the fields it lacks in its detail, never crashing the run. Records that
    lack a field the expression reads are counted in the notes (``missing_field:<field>``), and a field
    that no record of the stage has fails the step (a typo such as ``meta.answr``), naming the fields the
    records do have, even when other clauses kept some records (``meta.answr == 'x' or len(answer) > 0``);
    test a field that may legitimately be absent everywhere with ``exists()``.
    """

    def may_change(self) -> bool:
        return False  # keeps or drops records, never changes one

    name: ClassVar[str] = "filter"
    Params = FilterParams

    def __init__(self, params: FilterParams) -> None:
        super().__init__(params)
        self._expr = compile_expr(params.expr)
        self._reason = params.reason or default_reason(params.expr)

    def process(self, record: Record) -> Record | Drop:
        missing = self._expr.missing(record) if self._expr.fields else []
        for name in missing:
            self.note(f"{MISSING_NOTE}{name}")
        try:
            keep = self._expr(record)
        except ExprEvalError as exc:
            detail: dict[str, Any] = {"error": str(exc)}
            if missing:
                detail["missing"] = missing
            return Drop("expr_error", detail)
        finally:
            if self._expr.take_coerced():
                self.note("coerced_numeric")
        return record if keep else Drop(self._reason)

    def check_stage(self, records_in: int, notes: Mapping[str, int], example: Record | None) -> None:
        check_fields_seen(f"filter '{self.params.expr}'", self._expr.fields, records_in, notes, example)

