"""``helpsteer``: HelpSteer3-style preference rows: ``context``, ``response1``, ``response2`` and an
``overall_preference`` score from -3 to 3.

The score says which response is better and by how much (HelpSteer3's annotation guide, quoted in seed
001): -3/-2/-1 "response 1 is much better / better / slightly better than response 2", 0 "about the
same", 1/2/3 "response 2 is slightly better / better / much better than response 1". So:

* -3, -2, -1 -> ``chosen`` = response1, ``rejected`` = response2;
* 1, 2, 3 -> ``chosen`` = response2, ``rejected`` = response1. (Seed 001's text says
  ``chosen = rejected = ""`` for these, a slip: it contradicts the guide it quotes and would turn every
  "response 2 is better" row into an empty pair; the symmetric rule is the one the guide states.)
* 0 -> an explicit tie (``tie: True``, never empty strings) with ``chosen`` = response1 and
  ``rejected`` = response2 in the row's order (exporters drop ties unless ``keep_ties: true``).

``context`` is a message list (``{role, content}``; it ends with the user's turn) or a string (one user
turn). The score is kept in ``scores.overall_preference``; ``individual_preference`` (the per-annotator
scores and reasoning), ``domain``, ``language`` and every other field stay in ``meta``. The
``prompt`` part of ``fields`` renames the context column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import leftover, resolve_columns, type_name
from datamill.formats.messages import answer_turn, finish, set_pair, text_message
from datamill.formats.openai import OpenaiAdapter
from datamill.records import Record

DEFAULTS: dict[str, str | None] = {"prompt": "context"}
RESPONSES = ("response1", "response2")
SCORE = "overall_preference"


def _is_score(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and -3 <= value <= 3


class HelpsteerAdapter(FormatAdapter):
    """HelpSteer3 preference: context + response1/response2 + overall_preference (-3..3)."""

    name = "helpsteer"
    description = "context + response1/response2 + overall_preference -3..3 (HelpSteer3); 0 is a tie"
    specificity = 3
    options: ClassVar[dict[str, str]] = dict(COT_OPTIONS)

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.context_key = resolve_columns(self.name, DEFAULTS, self.config.fields, {})["prompt"] or "context"
        self._messages = OpenaiAdapter()

    def score(self, row: Mapping[str, Any]) -> float:
        context = row.get(self.context_key)
        if not isinstance(context, str | list) or not all(k in row for k in RESPONSES):
            return 0.0
        return 0.98 if _is_score(row.get(SCORE)) else 0.3

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return [k for k in (self.context_key, *RESPONSES, SCORE) if k in row]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        if self.context_key not in row:
            raise AdapterError(f"missing field '{self.context_key}'")
        context = row[self.context_key]
        if isinstance(context, str):
            messages = [text_message("user", context)]
        elif isinstance(context, list):
            messages = self._messages.parse_messages(context, self.context_key, answer=False)
        else:
            raise AdapterError(f"field '{self.context_key}' must be a list of messages or a string, "
                               f"got {type_name(context)}")
        preference = row.get(SCORE)
        if not isinstance(preference, int | float) or not _is_score(preference):
            raise AdapterError(f"field '{SCORE}' must be a number from -3 to 3, got {preference!r}")
        for key in RESPONSES:
            if key not in row:
                raise AdapterError(f"missing field '{key}'")
        record: Record = {"messages": messages}
        used = {self.context_key, SCORE}
        first, second = (answer_turn(row[k], k) for k in RESPONSES)
        if preference != 0 or (first and second):
            set_pair(record, *((second, first) if preference > 0 else (first, second)))
            used.update(RESPONSES)
        if preference == 0:
            record["tie"] = True  # a pair in the row's order; with an empty response, none (kept in meta)
        record["scores"] = {SCORE: preference}
        meta = leftover(row, used)
        if meta:
            record["meta"] = meta
        return finish(record, self.config)
