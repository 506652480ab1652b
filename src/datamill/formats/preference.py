"""Preference rows: where the prompt ends and the two answers begin, and when a pair is a tie.

**The prompt of a pair.** ``chosen``/``rejected`` come either as *continuations* (the answers only:
strings, or assistant turns after a ``prompt``/``messages`` context) or as *whole conversations* (the
user turn and the answer, as TRL's implicit-prompt rows and UltraFeedback's binarized sets have them).
Whole conversations are split at their shared beginning, which becomes the prompt (what TRL's
``extract_prompt`` does). An explicit context column (``prompt`` as a string or messages,
``messages``) is then checked against it: it wins when it is a beginning of both conversations, it is
accepted when it says the same thing (the same turns, the prompt string equal to the last user turn,
a ``messages`` column repeating one whole side), and a row where it disagrees is an error with both
texts in the message (the row is quarantined) rather than a pair built on the wrong prompt.

**Ties.** A pair is a tie (``tie: True`` on the record, the two answers kept in ``chosen``/``rejected``
in the row's order) when its two scores are equal (:data:`SCORE_PAIRS`, at the top of the row or in its
``metadata``/``meta``/``scores`` object, numbers or numeric strings) or a tie flag (:data:`TIE_FLAGS`)
is true. The exporters drop ties as ``tie`` unless ``keep_ties: true``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from datamill.formats.base import AdapterError
from datamill.records import Message, Record

#: (chosen, rejected) score columns of binarized preference sets (UltraFeedback, argilla, ...).
SCORE_PAIRS: tuple[tuple[str, str], ...] = (
    ("score_chosen", "score_rejected"),
    ("chosen_score", "rejected_score"),
    ("chosen_rating", "rejected_rating"),
    ("chosen-rating", "rejected-rating"),
    ("rating_chosen", "rating_rejected"),
    ("chosen_reward", "rejected_reward"),
    ("reward_chosen", "reward_rejected"),
)
#: Objects of the row that may hold the scores instead of its top level.
SCORE_HOLDERS = ("metadata", "meta", "scores")
#: Boolean columns that mark a row as a tie.
TIE_FLAGS = ("tie", "is_tie")
#: ``scores`` keys of a pair's two scores (the ``ranked`` reader uses the same).
SCORE_NAMES = ("chosen_score", "rejected_score")


def as_number(value: Any) -> float | None:
    """A number, or a numeric string, as a float; anything else (booleans included) is ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _holders(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = [row]
    for key in SCORE_HOLDERS:
        value = row.get(key)
        if isinstance(value, str) and value.lstrip().startswith("{"):  # seed 001 keeps metadata as JSON text
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                continue
        if isinstance(value, Mapping):
            found.append(value)
    return found


def pair_scores(row: Mapping[str, Any]) -> tuple[float, float] | None:
    """The (chosen, rejected) scores of a binarized preference row, when it has both."""
    for holder in _holders(row):
        for chosen, rejected in SCORE_PAIRS:
            if chosen in holder and rejected in holder:
                a, b = as_number(holder[chosen]), as_number(holder[rejected])
                if a is not None and b is not None:
                    return a, b
    return None


def mark_tie(record: Record, row: Mapping[str, Any]) -> None:
    """Set ``tie`` on a pair whose scores are equal or whose tie flag is true, and copy the two scores
    to ``scores.chosen_score``/``rejected_score`` (the original columns stay in ``meta``)."""
    scores = pair_scores(row)
    if scores is not None:
        record.setdefault("scores", {}).update(zip(SCORE_NAMES, scores, strict=True))
    flagged = any(row.get(flag) is True for flag in TIE_FLAGS)
    if flagged or (scores is not None and scores[0] == scores[1]):
        record["tie"] = True


def starts_with_user(turns: Sequence[Message] | None) -> bool:
    """A whole conversation: its first turn after any system turns is the user's."""
    for turn in turns or ():
        if turn.get("role") != "system":
            return turn.get("role") == "user"
    return False


def _is_prefix(prefix: Sequence[Message], of: Sequence[Message]) -> bool:
    return 0 < len(prefix) < len(of) and list(of[: len(prefix)]) == list(prefix)


def common_prefix(a: Sequence[Message], b: Sequence[Message]) -> int:
    """How many leading turns ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _last_user_text(turns: Sequence[Message]) -> str | None:
    for turn in reversed(turns):
        if turn.get("role") == "user":
            content = turn.get("content")
            return content.strip() if isinstance(content, str) else None
    return None


def _says_same(context: Sequence[Message], given: Sequence[Message]) -> bool:
    """``given`` (an explicit prompt) says what ``context`` says: the same turns, or a single user turn
    equal to the context's last user turn (a ``prompt`` string next to whole conversations)."""
    if list(given) == list(context):
        return True
    return len(given) == 1 and given[0].get("role") == "user" and _last_user_text(given) == _last_user_text(context)


def _short(turns: Sequence[Message]) -> str:
    text = orjson.dumps(list(turns)).decode()
    return text if len(text) <= 160 else text[:157] + "..."


def split_whole(
    chosen: list[Message], rejected: list[Message], explicit: Sequence[tuple[str, list[Message]]],
    sides: tuple[str, str],
) -> tuple[list[Message], list[Message], list[Message], set[str]]:
    """Context and continuations of two whole conversations, checked against the explicit context
    columns ``(column, turns)``; returns the columns that agreed (they are fully represented)."""
    for key, given in explicit:
        if _is_prefix(given, chosen) and _is_prefix(given, rejected):
            n = len(given)
            agreed = {k for k, other in explicit if k == key or _agrees(other, chosen[:n], chosen, rejected)}
            _check_all(explicit, agreed, chosen[:n], sides)
            return list(given), chosen[n:], rejected[n:], agreed
    n = common_prefix(chosen, rejected)
    if n == len(chosen) and n == len(rejected):
        raise AdapterError(f"'{sides[0]}' and '{sides[1]}' are identical conversations")
    context = chosen[:n]
    if not starts_with_user(context):
        raise AdapterError(f"'{sides[0]}' and '{sides[1]}' share no user turn to take as the prompt")
    agreed = {k for k, given in explicit if _agrees(given, context, chosen, rejected)}
    _check_all(explicit, agreed, context, sides)
    return context, chosen[n:], rejected[n:], agreed


def resolve_pair(
    chosen: list[Message] | None, rejected: list[Message] | None,
    explicit: Sequence[tuple[str, list[Message]]], sides: tuple[str, str], wanted: str,
) -> tuple[list[Message], list[Message] | None, list[Message] | None, set[str]]:
    """(context, chosen continuation, rejected continuation, explicit columns that agreed) of a pair whose
    sides are continuations or whole conversations (``None``: a blank side). ``explicit`` lists the row's
    context columns as ``(column, turns)``; ``wanted`` names the prompt column for errors."""
    whole = [starts_with_user(side) for side in (chosen, rejected)]
    if any(whole) and (chosen is None or rejected is None):  # one side blank: kept as an empty answer
        context, rest, agreed = split_single(chosen or rejected or [], explicit, sides)
        return (context, rest, None, agreed) if chosen else (context, None, rest, agreed)
    if any(whole):
        if not all(whole):
            raise AdapterError(
                f"one of '{sides[0]}'/'{sides[1]}' is a whole conversation but the other continues one")
        assert chosen is not None and rejected is not None
        return split_whole(chosen, rejected, explicit, sides)
    context, agreed = continuation_context(explicit, sides, wanted)
    return context, chosen, rejected, agreed


def split_single(turns: list[Message], explicit: Sequence[tuple[str, list[Message]]],
                 sides: tuple[str, str]) -> tuple[list[Message], list[Message], set[str]]:
    """One whole conversation next to a blank other side: the context is everything up to its last user
    turn, and the explicit context columns must agree with it."""
    cut = max(i for i, turn in enumerate(turns) if turn.get("role") == "user") + 1
    context = turns[:cut]
    agreed = {k for k, given in explicit if _agrees(given, context, turns, turns)}
    _check_all(explicit, agreed, context, sides)
    return context, turns[cut:], agreed


def _agrees(given: list[Message], context: list[Message], chosen: list[Message], rejected: list[Message]) -> bool:
    return _says_same(context, given) or given in (chosen, rejected)


def _check_all(explicit: Sequence[tuple[str, list[Message]]], agreed: set[str], context: list[Message],
               sides: tuple[str, str]) -> None:
    for key, given in explicit:
        if key not in agreed:
            raise AdapterError(
                f"'{key}' disagrees with the prompt that '{sides[0]}' and '{sides[1]}' share: "
                f"{_short(given)} vs {_short(context)}"
            )


def continuation_context(explicit: Sequence[tuple[str, list[Message]]], sides: tuple[str, str],
                         wanted: str) -> tuple[list[Message], set[str]]:
    """The context for answers given as continuations: the explicit context columns (the longer one
    when both are there, and then they must agree); returns the columns used. ``wanted`` names the
    prompt column(s) for the error when there is none."""
    if not explicit:
        raise AdapterError(
            f"missing field {wanted} ('{sides[0]}'/'{sides[1]}' are answers, not whole conversations)"
        )
    ordered = sorted(explicit, key=lambda item: len(item[1]), reverse=True)
    context = ordered[0][1]
    for key, given in ordered[1:]:
        if not _says_same(context, given):
            raise AdapterError(f"'{key}' disagrees with '{ordered[0][0]}': {_short(given)} vs {_short(context)}")
    return context, {key for key, _ in explicit}
