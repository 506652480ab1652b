"""Turning scored responses into preference pairs: the shared rule of the ``ranked`` and ``traces``
adapters, and their ``pairs``/``margin`` options.

* ``pairs: best_worst`` (default): one pair, the best response against the worst; of equal scores the
  first in the row's order wins (so with correctness flags it is the first correct trace against the
  first incorrect one). One record per row, like every other adapter.
* ``pairs: all``: every pair whose scores differ by more than ``margin``, better first, in the row's
  order; a row then yields several records (ids ``<source>:<row>``, ``...#1``, ``...#2`` ...).

A pair needs a score difference above ``margin`` (default 0: strictly better). A row with no such pair
is kept as an explicit tie (``tie: True``) with the reason in ``meta.unpaired`` (``all_equal``,
``within_margin``, ``fewer_than_two``), never dropped silently; with two or more candidates the tie
holds the best against the worst (the first against the last when all are equal) as
``chosen``/``rejected`` with ``meta.pair``, which the exporters write only with ``keep_ties: true``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from datamill.errors import RecipeError
from datamill.formats.base import AdapterConfig
from datamill.formats.messages import finish, set_pair, text_message
from datamill.records import Message, Record

PAIR_MODES = ("best_worst", "all")


@dataclass(frozen=True)
class PairOptions:
    """``pairs`` (best_worst | all) and ``margin`` from an input's options."""

    mode: str = "best_worst"
    margin: float = 0.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PairOptions:
        mode = options.get("pairs", "best_worst")
        if mode not in PAIR_MODES:
            raise RecipeError(f"pairs must be one of {', '.join(PAIR_MODES)}, got {mode!r}", location="options.pairs")
        margin = options.get("margin", 0.0)
        if isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0:
            raise RecipeError(f"margin must be a number >= 0, got {margin!r}", location="options.margin")
        return cls(mode=str(mode), margin=float(margin))


def choose_pairs(scores: Sequence[float], options: PairOptions) -> tuple[list[tuple[int, int]], str | None]:
    """``([(better, worse), ...], None)``, or ``([(first best, last worst)], reason)`` for a tie (no pair
    clears the margin; the pair is the two ends of the ranking, for ``keep_ties``), or ``([], reason)``
    with fewer than two candidates.

    >>> choose_pairs([1.0, 0.0, 0.0, 1.0], PairOptions())
    ([(0, 1)], None)
    >>> choose_pairs([3.0, 1.0, 2.0], PairOptions(mode="all", margin=0.5))
    ([(0, 1), (0, 2), (2, 1)], None)
    >>> choose_pairs([2.0, 2.0, 2.0], PairOptions())
    ([(0, 2)], 'all_equal')
    """
    if len(scores) < 2:
        return [], "fewer_than_two"
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    worst = min(range(len(scores)), key=lambda i: (scores[i], i))
    if options.mode == "best_worst":
        pairs = [(best, worst)] if scores[best] - scores[worst] > options.margin else []
    else:
        pairs = sorted(
            (i, j) if scores[i] > scores[j] else (j, i)
            for i in range(len(scores))
            for j in range(i + 1, len(scores))
            if abs(scores[i] - scores[j]) > options.margin
        )
    if pairs:
        return pairs, None
    if best == worst:  # all equal: the first against the last
        worst = max(i for i in range(len(scores)) if i != best)
    return [(best, worst)], "all_equal" if max(scores) == min(scores) else "within_margin"


def scored_pair_records(
    context: list[Message],
    answers: Sequence[str | None],
    scores: Sequence[float | None],
    options: PairOptions,
    config: AdapterConfig,
    *,
    paired_meta: Mapping[str, Any],
    tie_meta: Mapping[str, Any],
    score_names: tuple[str, str] | None = None,
    shown: Sequence[Any] | None = None,
) -> list[Record]:
    """Preference records from candidate answers and their scores (``None``: unscored, not a candidate;
    a blank answer is not a candidate either). Pairs record ``meta.pair = [chosen index, rejected
    index]`` (indices in the row's list) and, with ``score_names``, both scores in ``scores``; a row
    without a pair is one tie record with ``tie_meta`` and ``meta.unpaired`` (and the two ends of the
    ranking as its pair when there are two candidates). ``shown``: the values to record under
    ``score_names`` when they are not the scores themselves (ranks)."""
    candidates = [i for i, s in enumerate(scores) if s is not None and i < len(answers) and answers[i]
                  and str(answers[i]).strip()]
    pairs, reason = choose_pairs([float(scores[i]) for i in candidates], options)  # type: ignore[arg-type]
    out = []
    for better, worse in pairs:
        b, w = candidates[better], candidates[worse]
        record: Record = {"messages": copy.deepcopy(context)}
        set_pair(record, [text_message("assistant", str(answers[b]))], [text_message("assistant", str(answers[w]))])
        if score_names:
            values = scores if shown is None else shown
            record["scores"] = {score_names[0]: values[b], score_names[1]: values[w]}
        if reason is None:
            record["meta"] = {**paired_meta, "pair": [b, w]}
        else:  # a tie: the whole row stays in meta
            record["tie"] = True
            record["meta"] = {**tie_meta, "unpaired": reason, "pair": [b, w]}
        out.append(finish(record, config))
    if not out:
        tie: Record = {"messages": copy.deepcopy(context), "tie": True, "meta": {**tie_meta, "unpaired": reason}}
        out.append(finish(tie, config))
    return out
