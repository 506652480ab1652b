"""``traces``: several reasoning traces for one problem with a correctness flag each (OpenR1-Math:
``problem``, ``generations`` [str], ``correctness_math_verify`` [bool]) turned into preference pairs.

* The prompt is ``problem`` (or ``question``/``prompt``; ``fields: {prompt: ...}`` names another).
* Correctness: the ``correctness`` option names the column; otherwise the first list of booleans among
  :data:`CORRECTNESS` (``correctness_math_verify`` first: OpenR1's own filter uses it;
  ``correctness_llama`` is often null). A ``null`` flag leaves that trace out, like a blank trace.
* Pairs (options ``pairs``/``margin``, see :mod:`datamill.formats.ranking`): by default the first
  correct trace against the first incorrect one; ``pairs: all`` gives every correct x incorrect pair,
  one record each. ``meta.pair`` holds the two traces' indices.
* No pair is an explicit tie (``tie: True``) with ``meta.unpaired``: ``all_correct``,
  ``all_incorrect`` or ``fewer_than_two`` (seed 001 could not tell these apart: both were empty
  strings); the traces and flags then stay in ``meta``. No row is dropped silently.
* Each trace's ``<think>...</think>`` block becomes the answer's ``reasoning`` (the usual CoT split).

Every other field (``solution``, ``answer``, ``uuid``, ``is_reasoning_complete``, OpenR1's own
``messages`` ...) stays in ``meta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.errors import RecipeError
from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import leftover, prompt_column, required_prompt, resolve_columns
from datamill.formats.messages import text_message
from datamill.formats.ranking import PairOptions, scored_pair_records
from datamill.records import Record

PROMPTS = ("problem", "question", "prompt")
GENERATIONS = "generations"
#: Correctness columns tried in order when the ``correctness`` option is not given.
CORRECTNESS = ("correctness_math_verify", "correctness", "correctness_llama")


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _is_flags(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, bool) for v in value) and all(
        v is None or isinstance(v, bool) for v in value
    )


class TracesAdapter(FormatAdapter):
    """Reasoning traces with correctness flags (OpenR1-Math) -> correct vs incorrect preference pairs."""

    name = "traces"
    description = "problem + generations [str] + correctness_math_verify [bool] (OpenR1-Math) -> pairs"
    specificity = 3
    options: ClassVar[dict[str, str]] = {
        **COT_OPTIONS, "correctness": "the column of correctness flags (default: detected)",
        "pairs": "best_worst (one pair per row) or all (every pair apart by more than margin)",
        "margin": "a pair needs a score difference above this (default 0)",
    }

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.prompt_key = resolve_columns(self.name, {"prompt": None}, self.config.fields, {})["prompt"]
        self.pairs = PairOptions.from_options(self.config.options)
        column = self.config.options.get("correctness")
        if column is not None and not isinstance(column, str):
            raise RecipeError("correctness must be a column name", location="options.correctness")
        self.correctness = column

    def _prompt_key(self, row: Mapping[str, Any]) -> str | None:
        return prompt_column(row, self.prompt_key, PROMPTS)

    def _correctness_key(self, row: Mapping[str, Any]) -> str | None:
        if self.correctness:
            return self.correctness
        return next((k for k in CORRECTNESS if _is_flags(row.get(k))), None)

    def score(self, row: Mapping[str, Any]) -> float:
        if self._prompt_key(row) is None or not _is_str_list(row.get(GENERATIONS)):
            return 0.0
        key = self._correctness_key(row)
        return 0.98 if key and _is_flags(row.get(key)) else 0.3

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return [k for k in (self._prompt_key(row), GENERATIONS, self._correctness_key(row)) if k and k in row]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        return self.to_records(row)[0]

    def to_records(self, row: Mapping[str, Any]) -> list[Record]:
        prompt_key, prompt = required_prompt(row, self.prompt_key, PROMPTS)
        generations = row.get(GENERATIONS)
        if not (isinstance(generations, list) and all(isinstance(g, str) or g is None for g in generations)):
            raise AdapterError(f"field '{GENERATIONS}' must be a list of strings")
        key = self._correctness_key(row)
        if key is None:
            raise AdapterError(f"no correctness flags (tried {', '.join(CORRECTNESS)}; or set options.correctness)")
        flags = row.get(key)
        if not (isinstance(flags, list) and all(v is None or isinstance(v, bool) for v in flags)):
            raise AdapterError(f"field '{key}' must be a list of booleans")
        if len(flags) != len(generations):
            raise AdapterError(f"'{key}' has {len(flags)} flags for {len(generations)} generations")
        scores = [None if f is None else float(f) for f in flags]
        records = scored_pair_records(
            [text_message("user", prompt)], generations, scores, self.pairs, self.config,
            paired_meta=leftover(row, {prompt_key, GENERATIONS, key}), tie_meta=leftover(row, {prompt_key}),
        )
        valid = [s for s, g in zip(scores, generations, strict=True) if s is not None and g and g.strip()]
        for record in records:
            meta = record["meta"]
            if meta.get("unpaired") == "all_equal":
                meta["unpaired"] = "all_correct" if valid[0] else "all_incorrect"
        return records
