"""The ``arith_solution`` step: exact worked solutions ("计算过程：...") for templated arithmetic problems."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from typing import Any, ClassVar, Literal

from pydantic import Field

from datamill.records import Record, answer_text, last_assistant_index, prompt_text, set_field
from datamill.selectors import FieldTarget
from datamill.steps.augment.arith import KINDS, Solved, agrees, problem_kind, solve
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures
from datamill.steps.selection import exact_fraction

#: (problem kind or None, given solution status: "ok" | "imprecise" | "wrong" | "none")
ArithSignature = tuple[str | None, str]


class ArithParams(Params):
    on_mismatch: Literal["keep", "fix", "drop"] = Field(
        default="fix",
        description="a given solution that disagrees with the exact one: fix (write the computed solution, "
        "default), keep (leave the record's answer as it was, flagged), drop (reason arith_mismatch)",
    )
    precision: int = Field(default=28, ge=1, le=200, description="significant digits of results that do not "
                                                                 "terminate (division, roots); 28 = the data's")
    rel_tol: float = Field(
        default=1e-12, ge=0, lt=1,
        description="a given value within this relative error of the exact one agrees (float drift like "
        "21.240000000000002 is 'imprecise', not wrong); beyond it and beyond its last digit it is wrong",
    )
    unparsed: Literal["keep", "drop"] = Field(
        default="keep", description="problems no template matches (English, free-form): keep as they are, or "
        "drop (reason arith_unparsed)"
    )
    flag: FieldTarget | None = Field(default="meta.arith", description="field written with {kind, given}; null: none")


def status(solved: Solved | None, given: str, rel_tol: Fraction) -> str:
    if solved is None:
        return "none"
    if not given.strip():
        return "missing"
    if agrees(solved, given):
        return "ok"
    return "imprecise" if agrees(solved, given, rel_tol) else "wrong"


class ArithSolution(GlobalStep[ArithParams, ArithSignature, None]):
    """Rewrite the answer of every templated arithmetic problem (seed 003) as exact worked steps.

    Reads the prompt (the problem) and the answer (the given solution); recognises the 11 problem types
    of the Ascend arithmetic set (direct computation, linear equation, mean, fraction simplification,
    mass from density, discount ratio, rectangle area, square root, power, sales growth, function
    value), computes the answer exactly with ``Decimal``/``Fraction`` and writes ``计算过程：<steps>`` and
    the final sentence as the last assistant turn (an assistant turn is added when there is none).

    The given solution is compared with the exact value: *ok* within one unit of its own last digit,
    *imprecise* within ``rel_tol`` (float drift), else *wrong* (``on_mismatch``: fix, keep or drop with
    reason ``arith_mismatch``). Problems that match no template are left alone (or dropped,
    ``unparsed: drop``, reason ``arith_unparsed``). Writes ``meta.arith = {kind, given}``; the report
    counts per kind how many given solutions were ok / imprecise / wrong.

    ``precision`` is the number of significant digits of results that do not terminate (28, as the data's own);
    ``flag`` is the field written with ``{kind, given}`` for each fixed or unparsed record (``meta.arith``;
    null: none).
    """

    name: ClassVar[str] = "arith_solution"
    Params = ArithParams
    reads: ClassVar[tuple[str, ...]] = ("messages",)
    writes: ClassVar[tuple[str, ...]] = ("messages", "meta")

    def __init__(self, params: ArithParams) -> None:
        super().__init__(params)
        self._rel_tol = exact_fraction(params.rel_tol)
        self._report: dict[str, Any] = {}

    def classify(self, record: Record) -> tuple[Solved | None, str | None, str]:
        problem = prompt_text(record)
        solved = solve(problem, self.params.precision)
        kind = solved.kind if solved else problem_kind(problem)
        return solved, kind, status(solved, answer_text(record), self._rel_tol)

    def signature(self, record: Record) -> ArithSignature:
        _, kind, st = self.classify(record)
        return kind, st

    def reduce(self, shards: Iterator[ShardSignatures[ArithSignature]]) -> dict[str, None]:
        table: dict[str, Counter[str]] = {}
        plans: dict[str, None] = {}
        for shard in shards:
            plans[shard.shard] = None
            for kind, st in shard.signatures:
                table.setdefault(kind or "unparsed", Counter())[st] += 1
        order = [k for k in KINDS if k in table] + sorted(k for k in table if k not in KINDS)
        totals = Counter[str]()
        for counts in table.values():
            totals.update(counts)
        self._report = {
            "solved": sum(v for k, v in totals.items() if k != "none"),
            "given_ok": totals["ok"], "given_imprecise": totals["imprecise"], "given_wrong": totals["wrong"],
            "given_missing": totals["missing"], "unparsed": totals["none"],
            "by_kind": {k: dict(sorted(table[k].items())) for k in order},
        }
        return plans

    def apply(self, record: Record, index: int, plan: None) -> Record | Drop:
        solved, kind, st = self.classify(record)
        if solved is None:
            return Drop("arith_unparsed", {"kind": kind}) if self.params.unparsed == "drop" else record
        if st == "wrong" and self.params.on_mismatch == "drop":
            return Drop("arith_mismatch", {"kind": kind, "computed": solved.value})
        if self.params.flag:
            set_field(record, self.params.flag, {"kind": kind, "given": st})
        if st == "wrong" and self.params.on_mismatch == "keep":
            return record
        messages = record.setdefault("messages", [])
        i = last_assistant_index(messages)
        if i is None:
            messages.append({"role": "assistant", "content": solved.answer})
        elif messages[i].get("content") != solved.answer:
            messages[i] = {**messages[i], "content": solved.answer}
        else:
            return record
        self.note("changed")
        return record

    def report(self) -> dict[str, Any]:
        return self._report
