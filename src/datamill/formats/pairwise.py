"""``pairwise``: pairwise judgements of two outputs for one instruction (AlpacaEval / AlpacaFarm
annotations): ``instruction`` (+ ``input``), ``output_1``, ``output_2`` and ``preference``.

``preference`` says which output is better: ``1`` -> chosen = output_1, ``2`` -> chosen = output_2.
``0``, ``1.5``, ``"tie"``/``"draw"`` are ties (``tie: True``, output_1 and output_2 kept as
``chosen``/``rejected`` in the row's order; the exporters drop ties unless ``keep_ties: true``).
AlpacaEval's weighted annotators give values between 1 and 2: below 1.5 prefers output_1, above 1.5
output_2. Numeric strings are accepted; anything else is an error (quarantined with the value). The
value is kept in ``scores.preference``; ``generator_1``/``generator_2``, ``annotator`` and every other
field stay in ``meta``. A naive field mapping (output_1 -> chosen) would flip every row whose
preference is 2; this reader never does.

The prompt is ``instruction`` + a newline + ``input`` (each only when non-empty), as alpaca builds it;
``fields: {prompt: ..., input: ...}`` name other columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import leftover, optional_str, resolve_columns
from datamill.formats.messages import answer_turn, finish, set_pair, text_message
from datamill.formats.preference import as_number
from datamill.records import Record

OUTPUTS = ("output_1", "output_2")
PREFERENCE = "preference"
#: ``preference`` values that mean "neither is better".
TIE_WORDS = frozenset(("tie", "draw", "equal"))


def side(value: Any) -> int | None:
    """0 when output_1 is preferred, 1 for output_2, ``None`` for a tie; an AdapterError otherwise.

    >>> [side(v) for v in (1, 2, "2", 1.5, 0, "tie", 1.2, 1.8)]
    [0, 1, 1, None, None, None, 0, 1]
    """
    if isinstance(value, str) and value.strip().lower() in TIE_WORDS:
        return None
    number = as_number(value)
    if number is None or not (number == 0 or 1 <= number <= 2):
        raise AdapterError(f"field '{PREFERENCE}' must be 1, 2, or a tie (0, 1.5, 'tie'), got {value!r}")
    if number == 0 or number == 1.5:
        return None
    return 0 if number < 1.5 else 1


class PairwiseAdapter(FormatAdapter):
    """AlpacaEval pairwise annotations: instruction + output_1/output_2 + preference (1, 2, tie)."""

    name = "pairwise"
    description = "instruction + output_1/output_2 + preference 1|2|0/1.5/tie (AlpacaEval annotations)"
    specificity = 3
    options: ClassVar[dict[str, str]] = dict(COT_OPTIONS)

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        columns = resolve_columns(self.name, {"prompt": "instruction", "input": "input"}, self.config.fields, {})
        self.prompt_key = columns["prompt"] or "instruction"
        self.input_key = columns["input"] or "input"

    def score(self, row: Mapping[str, Any]) -> float:
        if not isinstance(row.get(self.prompt_key), str) or not all(k in row for k in OUTPUTS):
            return 0.0
        return 0.98 if PREFERENCE in row else 0.3

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return [k for k in (self.prompt_key, self.input_key, *OUTPUTS, PREFERENCE) if k in row]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        if self.prompt_key not in row:
            raise AdapterError(f"missing field '{self.prompt_key}'")
        for key in (*OUTPUTS, PREFERENCE):
            if key not in row:
                raise AdapterError(f"missing field '{key}'")
        parts = (optional_str(row, self.prompt_key), optional_str(row, self.input_key))
        prompt = "\n".join(p for p in parts if p)  # blank is kept: exporters refuse it
        winner = side(row[PREFERENCE])
        first, second = (answer_turn(row[k], k) for k in OUTPUTS)
        record: Record = {"messages": [text_message("user", prompt)]}
        set_pair(record, *((second, first) if winner == 1 else (first, second)))
        if winner is None:
            record["tie"] = True
        number = as_number(row[PREFERENCE])
        record["scores"] = {PREFERENCE: number if number is not None else row[PREFERENCE]}
        meta = leftover(row, {self.prompt_key, self.input_key, *OUTPUTS, PREFERENCE})
        if meta:
            record["meta"] = meta
        return finish(record, self.config)
