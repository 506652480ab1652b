"""Building conversations and prompt/answer pairs from forum threads: pure functions over posts.

The ``group`` step (``steps/group.py``) collects the posts of each thread in its reduce phase and calls
these; they never see records, only :class:`Post` values, so every rule is testable with a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from datamill import numbers

#: Sort keys: numbers (numeric strings too) before strings, missing values last; ties keep input order.
SortKey = tuple[int, float, str]
MISSING_ORDER: SortKey = (2, 0.0, "")


def as_number(value: Any) -> float | None:
    """``value`` as a number: ints, floats and numeric strings (``"12"``, ``" 3.5 "``); else None."""
    number, _ = numbers.as_number(value)  # the one rule for numbers read from text (datamill.numbers)
    return float(number) if number is not None and math.isfinite(number) else None


def sort_key(value: Any) -> SortKey:
    number = as_number(value)
    if number is not None:
        return (0, number, "")
    if value is None or value == "":
        return MISSING_ORDER
    return (1, 0.0, str(value))


def key_text(value: Any) -> str | None:
    """A group key or post id as text, so that 123 and "123" name the same thread; None when missing."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class Post:
    """One post of a thread, as the ``group`` step's signature carries it."""

    record_id: str
    text: str
    order: SortKey = MISSING_ORDER
    position: int = 0  # the post's place in the input, for ties and missing orders
    author: str | None = None
    score: float | None = None
    post_id: str | None = None
    parent: str | None = None
    title: str | None = None


Messages = list[dict[str, str]]


@dataclass(slots=True)
class Outcome:
    """What happens to the posts of one thread: the records that become examples (record id -> (messages,
    the record ids of the posts they hold, in order)) and the records that are dropped (record id ->
    (reason, detail))."""

    emit: dict[str, tuple[Messages, list[str]]] = field(default_factory=dict)
    drop: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)


def in_order(posts: Sequence[Post]) -> list[Post]:
    return sorted(posts, key=lambda p: (p.order, p.position))


def first_turn(post: Post) -> str:
    """The opening post's text, after the thread's title when it has one that the text does not repeat."""
    title = (post.title or "").strip()
    if title and not post.text.lstrip().startswith(title):
        return f"{title}\n\n{post.text}"
    return post.text


def _merge(turns: Messages, role: str, text: str) -> None:
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"] += "\n\n" + text
    else:
        turns.append({"role": role, "content": text})


def thread(posts: Sequence[Post], by_author: bool) -> Outcome:
    """Every post of the thread as turns: the opening post is the user's; with ``by_author`` every post by
    the opening post's author is a user turn and every other post an assistant turn, else the posts
    alternate user/assistant. Consecutive posts of one role are joined with a blank line. Posts after the
    last assistant turn have no answer and are dropped (``unanswered``); a thread without any answer
    drops every post (``no_reply``). The other posts are dropped as ``merged_into`` the opening post."""
    ordered = in_order(posts)
    lead = ordered[0]
    author = lead.author
    turns: Messages = []
    roles: list[str] = []
    for i, post in enumerate(ordered):
        if by_author:
            role = "user" if i == 0 or (post.author is not None and post.author == author) else "assistant"
        else:
            role = "user" if i % 2 == 0 else "assistant"
        roles.append(role)
        _merge(turns, role, first_turn(post) if i == 0 else post.text)
    out = Outcome()
    if "assistant" not in roles:
        for post in ordered:
            out.drop[post.record_id] = ("no_reply", {"thread_posts": len(ordered)})
        return out
    last_answer = max(i for i, role in enumerate(roles) if role == "assistant")
    while turns[-1]["role"] == "user":
        turns.pop()
    out.emit[lead.record_id] = (turns, [post.record_id for post in ordered[:last_answer + 1]])
    for i, post in enumerate(ordered[1:], 1):
        if i > last_answer:
            out.drop[post.record_id] = ("unanswered", {"into": lead.record_id})
        else:
            out.drop[post.record_id] = ("merged_into", {"into": lead.record_id})
    return out


def best_reply(posts: Sequence[Post], by_author: bool) -> Outcome:
    """The opening post as the prompt and the reply with the highest score as the answer (ties: the
    earlier reply; a reply without a numeric score ranks below every scored one). With ``by_author`` the
    opening post's author's own replies are not candidates. The best reply is dropped as ``merged_into``
    the opening post, the other replies as ``not_best_reply``; a thread without a candidate reply drops
    every post (``no_reply``)."""
    ordered = in_order(posts)
    lead = ordered[0]
    replies = [p for p in ordered[1:] if not (by_author and p.author is not None and p.author == lead.author)]
    out = Outcome()
    if not replies:
        for post in ordered:
            out.drop[post.record_id] = ("no_reply", {"thread_posts": len(ordered)})
        return out
    ranked = [(p.score is not None, p.score if p.score is not None else 0.0, -i) for i, p in enumerate(replies)]
    best = replies[max(range(len(replies)), key=ranked.__getitem__)]
    out.emit[lead.record_id] = ([{"role": "user", "content": first_turn(lead)},
                                 {"role": "assistant", "content": best.text}], [lead.record_id, best.record_id])
    for post in ordered[1:]:
        if post is best:
            out.drop[post.record_id] = ("merged_into", {"into": lead.record_id})
        else:
            out.drop[post.record_id] = ("not_best_reply", {"best": best.record_id})
    return out


def pairs(posts: Sequence[Post], chain: bool) -> Outcome:
    """Every reply paired with the post it answers (``parent`` names the other post's ``post_id``): the
    reply's record becomes ``[user: parent, assistant: reply]``; with ``chain`` the turns run from the
    thread's root down to the reply, roles alternating backwards from the reply (starting at a user turn,
    so an odd chain leaves out its root). A post whose parent is
    not in the thread is dropped (``parent_missing``); a post that answers nothing is dropped as
    ``used_as_prompt`` when replies use it, else ``no_reply``."""
    by_id: dict[str, Post] = {}
    for post in in_order(posts):
        if post.post_id is not None:
            by_id.setdefault(post.post_id, post)  # a repeated post id: the first post in order owns it
    answered: dict[str, list[str]] = {}
    out = Outcome()
    for post in in_order(posts):
        if post.parent is None:
            continue
        parent = by_id.get(post.parent)
        if parent is None or parent is post:
            out.drop[post.record_id] = ("parent_missing", {"parent": post.parent})
            continue
        path = [post, parent]
        if chain:
            seen = {post.record_id, parent.record_id}
            while path[-1].parent is not None:
                up = by_id.get(path[-1].parent)
                if up is None or up.record_id in seen:
                    break
                seen.add(up.record_id)
                path.append(up)
        if len(path) % 2:  # a conversation opens with the user: start the chain at the nearest user turn
            path.pop()
        turns = [{"role": "user" if depth % 2 == 0 else "assistant",
                  "content": first_turn(node) if node.parent is None else node.text}
                 for depth, node in enumerate(reversed(path))]
        out.emit[post.record_id] = (turns, [node.record_id for node in reversed(path)])
        answered.setdefault(parent.record_id, []).append(post.record_id)
    for post in posts:
        if post.record_id in out.emit or post.record_id in out.drop:
            continue
        if post.record_id in answered:
            out.drop[post.record_id] = ("used_as_prompt", {"replies": answered[post.record_id]})
        else:
            out.drop[post.record_id] = ("no_reply", {})
    return out
