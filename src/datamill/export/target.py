"""The shared first half of every trainer exporter: mode, chain of thought, validation.

:meth:`TargetExporter.prepare` turns a canonical record into a :class:`Prepared` example (rendered,
text-only messages that passed the target's :class:`~datamill.export.rules.Rules`), or a ``Drop``
with the reason. Each exporter then only lays the example out in its own columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from datamill.export.base import Exporter
from datamill.export.render import CotMode, render_messages
from datamill.export.rules import Rules, check_conversation, check_pair
from datamill.export.shape import Mode, ModeLock, ModeOption
from datamill.formats.messages import KTO_LABEL
from datamill.records import Message, Record
from datamill.steps.base import Drop, Params

#: LLaMA-Factory/multimodal media columns (kept in ``meta`` by the readers); text targets cannot carry them
MEDIA_KEYS = ("images", "videos", "audios")


class TargetOptions(Params):
    """Options every trainer exporter understands."""

    mode: ModeOption = Field(
        default="auto",
        description="sft, preference, kto or pretrain; auto takes the first record's (one shape per file, "
        "as trainers read it)",
    )
    cot: CotMode = Field(
        default="think_tags",
        description="chain of thought: think_tags (<think>...</think> before the answer), field (a separate "
        "message field) or drop",
    )


class PreferenceOptions(TargetOptions):
    """Options of the exporters that write preference pairs (LLaMA-Factory, TRL, hf)."""

    keep_ties: bool = Field(
        default=False,
        description="preference: write ties (equal scores, a tie label) as pairs in the source's order; by "
        "default they are dropped as 'tie' (a tie teaches a DPO/reward model a preference that is not there)",
    )


@dataclass
class Prepared:
    """A record ready to lay out: everything is text, and valid for the target."""

    mode: Mode
    system: str = ""
    #: sft/kto: the whole conversation without the system turn; preference: the shared context
    messages: list[Message] = field(default_factory=list)
    chosen: list[Message] = field(default_factory=list)
    rejected: list[Message] = field(default_factory=list)
    label: bool | None = None
    text: str = ""
    tools: Any = None


class TargetExporter(Exporter):
    """Base for the trainer exporters (not an output format itself: it has no ``name``)."""

    supported_modes: ClassVar[tuple[Mode, ...]] = ("sft", "preference", "kto", "pretrain")
    rules: Rules = Rules()
    #: message field that ``cot: field`` writes
    reasoning_field: ClassVar[str] = "reasoning_content"
    #: the target can hold the reasoning in a field (LLaMA-Factory cannot: it reads content only)
    cot_field_ok: ClassVar[bool] = True

    def __init__(self, options: Params) -> None:
        super().__init__(options)
        opts = self.target_options
        if opts.cot == "field" and not self.cot_field_ok:
            from datamill.errors import RecipeError

            raise RecipeError(f"the {self.name} format has no reasoning field; use cot: think_tags or drop",
                              location="options.cot")
        try:
            self.modes = ModeLock(opts.mode, self.supported_modes)
        except ValueError as exc:
            from datamill.errors import RecipeError

            raise RecipeError(str(exc), location="options.mode") from None

    @property
    def target_options(self) -> TargetOptions:
        assert isinstance(self.options, TargetOptions)
        return self.options

    def _render(self, messages: list[Message]) -> list[Message] | Drop:
        return render_messages(messages, self.target_options.cot, self.reasoning_field)

    def prepare(self, record: Record) -> Prepared | Drop:
        mode = self.modes.check(record)
        if isinstance(mode, Drop):
            return mode
        if mode == "pretrain":
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                return Drop("empty_text")
            return Prepared(mode, text=text)
        media = [k for k in MEDIA_KEYS if (record.get("meta") or {}).get(k)]
        if media:  # the text would keep <image> placeholders without the images
            return Drop("media_not_exported", {"fields": media})
        messages = self._render(list(record.get("messages") or []))
        if isinstance(messages, Drop):
            return messages
        system = ""
        if messages and messages[0]["role"] == "system":
            system = messages[0]["content"]
            messages = messages[1:]
        out = Prepared(mode, system=system, messages=messages, tools=record.get("tools"))
        if mode == "preference":
            if record.get("tie"):
                if not (isinstance(self.options, PreferenceOptions) and self.options.keep_ties):
                    return Drop("tie")
                if not (record.get("chosen") and record.get("rejected")):
                    return Drop("tie_without_pair")
            chosen = self._render(list(record.get("chosen") or []))
            rejected = self._render(list(record.get("rejected") or []))
            if isinstance(chosen, Drop):
                return chosen
            if isinstance(rejected, Drop):
                return rejected
            if not chosen or not rejected:
                return Drop("incomplete_pair")
            dropped = check_pair(messages, chosen, rejected, self.rules)
            out.chosen, out.rejected = chosen, rejected
        else:
            dropped = check_conversation(messages, self.rules)
            if mode == "kto":
                label = (record.get("scores") or {}).get(KTO_LABEL)
                if not isinstance(label, bool):
                    return Drop("kto_label_missing")
                out.label = label
        return dropped if dropped is not None else out
