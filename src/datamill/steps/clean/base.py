"""The shared shape of cleaning steps: ``on:`` selects texts, ``clean(text) -> text`` rewrites each one."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from pydantic import Field

from datamill.records import Record
from datamill.selectors import Selector, map_texts
from datamill.steps.base import Drop, Params, RowStep


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
    because a trainer sees all of them).

    Notes ``changed``: the records of which at least one text changed (in the stage's ``stats.json``).
    """

    reads: ClassVar[tuple[str, ...]] = ("messages", "chosen", "rejected", "text")
    writes: ClassVar[tuple[str, ...]] = ("messages", "chosen", "rejected", "text")

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
        if changed:
            self.note("changed")
        return record
