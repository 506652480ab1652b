"""``ranked``: a prompt with several scored responses -> preference pairs (best vs worst by default).

Two shapes:

* UltraFeedback: ``instruction`` + ``completions: [{response, fine-grained_score, overall_score,
  annotations, ...}]``; the ``score`` option names the completion's score field (a dotted path such
  as ``annotations.helpfulness.Rating`` works), otherwise the first number among :data:`SCORE_KEYS`
  (``fine-grained_score`` first: the mean of the four ratings, which UltraFeedback's binarized release
  uses because ``overall_score`` had errors);
* parallel lists: ``prompt`` + ``responses: [str]`` + ``scores``/``ratings``/``rewards: [number]``, or
  ``ranks``/``ranking: [number]`` (1 is the best).

The prompt is ``prompt``, ``instruction`` or ``question`` (``fields: {prompt: ...}`` names another).
Scores may be numbers or numeric strings; ``null``, ``"N/A"`` and blank responses are not candidates.
Options ``pairs: best_worst | all`` and ``margin`` (see :mod:`datamill.formats.ranking`): the default is
one pair, the best response against the worst; ``pairs: all`` writes every pair whose scores differ by
more than ``margin``. The two scores go to ``scores.chosen_score``/``scores.rejected_score`` and the two
indices to ``meta.pair``; a row with no pair is an explicit tie with ``meta.unpaired`` and its
responses in ``meta``. Every other field stays in ``meta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.errors import RecipeError
from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import leftover, prompt_column, required_prompt, resolve_columns
from datamill.formats.messages import text_message
from datamill.formats.preference import as_number
from datamill.formats.ranking import PairOptions, scored_pair_records
from datamill.records import Record

PROMPTS = ("prompt", "instruction", "question")
COMPLETIONS = "completions"
RESPONSES = "responses"
#: Parallel score lists tried for ``responses`` (higher is better).
SCORE_LISTS = ("scores", "ratings", "rewards")
#: Parallel rank lists tried after them (1 is the best; equal ranks are a tie).
RANK_LISTS = ("ranks", "ranking")
#: Score fields of a completion tried in order (UltraFeedback first).
SCORE_KEYS = ("fine-grained_score", "overall_score", "score", "rating", "reward")
TEXT_KEYS = ("response", "text", "content", "output")
SCORE_NAMES = ("chosen_score", "rejected_score")
RANK_NAMES = ("chosen_rank", "rejected_rank")


def _lookup(node: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


class RankedAdapter(FormatAdapter):
    """A prompt with scored responses (UltraFeedback completions, responses + scores) -> pairs."""

    name = "ranked"
    description = "prompt + completions with ratings (UltraFeedback) or responses + scores -> best vs worst"
    specificity = 3
    options: ClassVar[dict[str, str]] = {
        **COT_OPTIONS, "score": "the completion's score field (a dotted path, e.g. annotations.helpfulness.Rating)",
        "pairs": "best_worst (one pair per row) or all (every pair apart by more than margin)",
        "margin": "a pair needs a score difference above this (default 0)",
    }

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.prompt_key = resolve_columns(self.name, {"prompt": None}, self.config.fields, {})["prompt"]
        self.pairs = PairOptions.from_options(self.config.options)
        score = self.config.options.get("score")
        if score is not None and not isinstance(score, str):
            raise RecipeError("score must be a field name (dotted paths allowed)", location="options.score")
        self.score_key = score

    def _prompt_key(self, row: Mapping[str, Any]) -> str | None:
        return prompt_column(row, self.prompt_key, PROMPTS)

    def _list_key(self, row: Mapping[str, Any]) -> str | None:
        return next((k for k in (*SCORE_LISTS, *RANK_LISTS) if isinstance(row.get(k), list)), None)

    def _completion_score(self, completion: Mapping[str, Any]) -> float | None:
        if self.score_key:
            return as_number(_lookup(completion, self.score_key))
        return next((n for n in (as_number(completion.get(k)) for k in SCORE_KEYS) if n is not None), None)

    def score(self, row: Mapping[str, Any]) -> float:
        if self._prompt_key(row) is None:
            return 0.0
        completions = row.get(COMPLETIONS)
        if isinstance(completions, list) and completions and all(isinstance(c, Mapping) for c in completions):
            has_text = any(any(isinstance(c.get(k), str) for k in TEXT_KEYS) for c in completions)
            return 0.95 if has_text and any(self._completion_score(c) is not None for c in completions) else 0.3
        responses, key = row.get(RESPONSES), self._list_key(row)
        if isinstance(responses, list) and responses and all(isinstance(r, str) for r in responses):
            return 0.95 if key and len(row[key]) == len(responses) else 0.3
        return 0.0

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        keys = (self._prompt_key(row), COMPLETIONS, RESPONSES, self._list_key(row))
        return [k for k in keys if k and k in row]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        return self.to_records(row)[0]

    def _candidates(self, row: Mapping[str, Any]) -> tuple[list[str | None], list[float | None], set[str], bool]:
        """Answers, their scores (higher is better), the columns used, and whether the scores are ranks."""
        if COMPLETIONS in row:
            completions = row[COMPLETIONS]
            if not (isinstance(completions, list) and all(isinstance(c, Mapping) for c in completions)):
                raise AdapterError(f"field '{COMPLETIONS}' must be a list of objects")
            texts = [next((c[k] for k in TEXT_KEYS if isinstance(c.get(k), str)), None) for c in completions]
            return texts, [self._completion_score(c) for c in completions], {COMPLETIONS}, False
        key = self._list_key(row)
        responses = row.get(RESPONSES)
        if not (isinstance(responses, list) and all(isinstance(r, str) or r is None for r in responses)):
            raise AdapterError(f"need '{COMPLETIONS}' or '{RESPONSES}' (a list of strings)")
        if key is None:
            raise AdapterError(
                f"'{RESPONSES}' needs a parallel list of scores or ranks ({', '.join(SCORE_LISTS + RANK_LISTS)})")
        if len(row[key]) != len(responses):
            raise AdapterError(f"'{key}' has {len(row[key])} scores for {len(responses)} responses")
        numbers = [as_number(s) for s in row[key]]
        ranks = key in RANK_LISTS
        if ranks:  # rank 1 is the best: the score is the negative rank
            numbers = [None if n is None else -n for n in numbers]
        return list(responses), numbers, {RESPONSES, key}, ranks

    def to_records(self, row: Mapping[str, Any]) -> list[Record]:
        prompt_key, prompt = required_prompt(row, self.prompt_key, PROMPTS)
        texts, scores, used, ranks = self._candidates(row)
        return scored_pair_records(
            [text_message("user", prompt)], texts, scores, self.pairs, self.config,
            paired_meta=leftover(row, {prompt_key, *used}), tie_meta=leftover(row, {prompt_key}),
            score_names=RANK_NAMES if ranks else SCORE_NAMES,
            shown=[None if s is None else -s for s in scores] if ranks else None,
        )
