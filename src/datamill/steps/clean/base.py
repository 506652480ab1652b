"""The shared shape of cleaning steps: ``on:`` selects texts, ``clean(text) -> text`` rewrites each one."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from pydantic import Field

from datamill.records import Record
from datamill.selectors import Selector, call_functions, map_texts
from datamill.steps.base import Drop, Params, RowStep
from datamill.steps.clean.arguments import clean_arguments


class CleanParams(Params):
    on: Selector = Field(
        default="all",
        description="texts to clean: prompt, answer, turns, system, reasoning, chosen, rejected, text, all, "
        "or field paths; default all (every turn, reasoning and text: what a trainer sees)",
    )


P = TypeVar("P", bound=CleanParams)


class CleanStep(RowStep[P]):
    """Base of the cleaning steps: rewrites every text selected by ``on`` in place, never drops.

    Reads and writes the texts ``on`` selects (default ``all``: every turn, the reasoning and ``text``,
    because a trainer sees all of them). A step with ``cleans_tool_arguments`` also cleans the string values
    of the tool-call arguments of the turns ``on`` selects whole (``all``, ``turns``, ``answer``...: a call
    is part of the turn that makes it), keeping JSON text valid (:mod:`datamill.steps.clean.arguments`).

    Notes ``changed``: the records of which at least one text or argument changed (in the stage's
    ``stats.json``); ``tool_arguments_changed``: the tool calls whose arguments changed.
    """

    reads: ClassVar[tuple[str, ...]] = ("messages", "chosen", "rejected", "text")
    writes: ClassVar[tuple[str, ...]] = ("messages", "chosen", "rejected", "text")
    #: Whether the step cleans tool-call arguments too: the steps that remove or mask content, or repair
    #: its encoding or script, do (a call must not keep what its turn lost); the steps that restyle text
    #: (normalize, standardize, html_to_text) do not: an argument is a value a program reads.
    cleans_tool_arguments: ClassVar[bool] = False

    def clean(self, text: str) -> str:
        raise NotImplementedError

    def process(self, record: Record) -> Record | Drop:
        changed = False

        def rewrite(text: str) -> str:
            nonlocal changed
            out = self.clean(text)
            changed = changed or out != text
            return out

        map_texts(record, self.params.on, rewrite)
        if self.cleans_tool_arguments:
            for function in call_functions(record, self.params.on):
                arguments = function["arguments"]
                cleaned = clean_arguments(arguments, rewrite)
                if cleaned != arguments:
                    function["arguments"] = cleaned
                    self.note("tool_arguments_changed")
        if changed:
            self.note("changed")
        return record
