"""``check:`` on an output: measure each record with the target model's tokenizer as it is written.

``on_overlength`` says what to do with a record longer than the trainer's limit:

* ``keep`` (default): write it, and count it (the output's notes: ``over_cutoff (kept)``), so the
  truncation the trainer will do is known before training;
* ``drop``: refuse it with the reason ``over_cutoff`` (counted and kept in ``dropped/`` like any drop);
* ``truncate``: shorten the *last answer* so that the whole record fits, ending it where the trainer
  would have cut it but keeping the end-of-turn token that the chat template adds after it (a trainer's
  own cut loses it); a record whose prompt alone is too long, or that is not a conversation, is dropped
  as ``over_cutoff``; the shortened ones are counted (``truncated to the limit``);
* ``fail``: stop the run on the first such record, naming it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from datamill.errors import StepError
from datamill.steps.base import Drop

OnOverlength = Literal["keep", "truncate", "drop", "fail"]


class OutputCheck(BaseModel):
    """An output's handoff check (see :mod:`datamill.handoff.guard`)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="the target model: hub name, folder, .gguf file or 'smollm2'")
    backend: Literal["llamafactory", "trl", "xtuner"] = Field("llamafactory", description="the trainer")
    cutoff_len: int | None = Field(None, ge=8, description="token limit (default: the trainer's own)")
    on_overlength: OnOverlength = Field("keep", description="keep, truncate, drop or fail")


class OverlengthGuard:
    """Measures records and applies ``on_overlength``; ``notes`` holds what it did."""

    def __init__(self, check: OutputCheck) -> None:
        from datamill.handoff.encode import ChatEncoder
        from datamill.handoff.trainers import DEFAULT_LIMIT
        from datamill.models import load_tokenizer

        self.check = check
        self.limit = check.cutoff_len or DEFAULT_LIMIT[check.backend]
        self.encoder = ChatEncoder(load_tokenizer(check.model))

    def apply(self, record: dict[str, Any]) -> tuple[dict[str, Any] | Drop, str | None]:
        """``(record to convert, note)``: the record itself, a shortened copy, or a Drop."""
        total = self.encoder.encode(record).total
        if total <= self.limit:
            return record, None
        action = self.check.on_overlength
        if action == "keep":
            return record, "over_cutoff (kept)"
        if action == "fail":
            raise StepError(f"record {record.get('id')} has {total} tokens, over the limit of {self.limit} "
                            f"({self.check.backend}, {self.check.model}) and the output says on_overlength: fail",
                            hint="raise cutoff_len, or use on_overlength: drop or truncate")
        detail = {"tokens": total, "limit": self.limit}
        if action == "drop":
            return Drop("over_cutoff", detail), None
        shortened = self._truncate(record, total)
        if shortened is None:
            return Drop("over_cutoff", detail), None
        return shortened, "truncated to the limit"

    def _truncate(self, record: dict[str, Any], total: int) -> dict[str, Any] | None:
        from datamill.export.shape import record_mode

        messages = list(record.get("messages") or [])
        if record_mode(record) != "sft" or not messages or messages[-1].get("role") != "assistant":
            return None
        content = messages[-1].get("content")
        if not isinstance(content, str):
            return None
        tokenizer = self.encoder.tokenizer
        ids = tokenizer(content, add_special_tokens=False)["input_ids"]
        keep = len(ids) - (total - self.limit)
        while keep > 0:
            text = tokenizer.decode(ids[:keep])
            candidate = {**record, "messages": [*messages[:-1], {**messages[-1], "content": text}]}
            if self.encoder.encode(candidate).total <= self.limit:
                return candidate
            keep -= 1  # re-tokenizing at the cut may add a token: shorten until it fits
        return None
