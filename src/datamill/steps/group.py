"""The ``group`` step: forum threads (a post and its replies, one record each) become conversations or
prompt/answer pairs."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from datamill.records import Record, get_path
from datamill.selectors import FieldPath, Name, read_value
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures
from datamill.steps.threads import (
    MISSING_ORDER,
    Messages,
    Outcome,
    Post,
    as_number,
    best_reply,
    in_order,
    key_text,
    pairs,
    sort_key,
)
from datamill.steps.threads import thread as build_thread

#: One shard's plan: record index -> the example it becomes ({messages, group}), or why it is dropped.
Plan = dict[int, dict[str, Any] | tuple[str, dict[str, Any]]]


class GroupParams(Params):
    by: FieldPath | None = Field(
        default=None,
        description="field path of the thread key (meta.thread_id); records with the same value form one "
        "thread (123 and \"123\" are the same); required for thread and best_reply, optional for pairs",
    )
    order: FieldPath | None = Field(
        default=None,
        description="field path that orders the posts of a thread (meta.floor, meta.time): numbers and numeric "
        "strings by value, other values as text (ISO times sort right); missing: input order",
    )
    mode: Literal["thread", "best_reply", "pairs"] = Field(
        default="thread",
        description="thread: every post as a turn of one conversation; best_reply: the opening post and the "
        "reply with the highest 'score'; pairs: every reply with the post it answers ('parent')",
    )
    text: Name = Field(default="text", description="where a post's text is: text (the default), or a field "
                                                    "path such as meta.content")
    title: FieldPath | None = Field(default=None, description="field path of the thread's subject, put before the "
                                                         "opening post's text")
    author: FieldPath | None = Field(
        default=None,
        description="field path of the post's author; thread: the opening author's posts are user turns and "
        "everyone else's assistant turns (without it, posts alternate); best_reply: the opening author's "
        "own replies are not candidates",
    )
    score: FieldPath | None = Field(default=None, description="best_reply: field path of the reply's score (likes, "
                                                         "votes; numeric strings count)")
    post_id: FieldPath | None = Field(default=None, description="pairs: field path of the post's own id, which "
                                                           "'parent' refers to (default: the record id)")
    parent: FieldPath | None = Field(default=None, description="pairs: field path of the id of the post this one "
                                                          "answers")
    context: Literal["parent", "chain"] = Field(
        default="parent",
        description="pairs: parent (one user turn: the post answered) or chain (every post from the thread's "
        "root down, as alternating turns)",
    )
    system: str | None = Field(default=None, description="a system prompt put first in every conversation")

    @model_validator(mode="after")
    def _mode_fields(self) -> GroupParams:
        if self.mode in ("thread", "best_reply") and self.by is None:
            raise ValueError(f"mode {self.mode} needs 'by' (the field that names the thread)")
        if self.mode == "best_reply" and self.score is None:
            raise ValueError("mode best_reply needs 'score' (the field that ranks the replies)")
        if self.mode == "pairs" and self.parent is None:
            raise ValueError("mode pairs needs 'parent' (the field naming the post a reply answers)")
        for name in ("score",):
            if getattr(self, name) is not None and self.mode != "best_reply":
                raise ValueError(f"'{name}' is only used by mode best_reply")
        for name in ("post_id", "parent"):
            if getattr(self, name) is not None and self.mode != "pairs":
                raise ValueError(f"'{name}' is only used by mode pairs")
        return self


#: (thread key, post) per record; ``None`` when the record has no thread key (dropped as no_thread).
Signature = tuple[str | None, Post] | None


class Group(GlobalStep[GroupParams, Signature, Plan]):
    """Turn forum dumps into training examples: the posts of a thread (records with the same ``by``
    value, ordered by ``order``) become one conversation or prompt/answer pairs.

    * ``mode: thread``: the thread's posts become the turns of one conversation. The opening post is the
      user's; with ``author`` the opening author's later posts are user turns and everyone else's are
      assistant turns (consecutive posts of one role are joined with a blank line); without it the posts
      alternate. Posts after the last answer are dropped as ``unanswered``.
    * ``mode: best_reply``: the opening post is the prompt and the reply with the highest ``score`` is
      the answer (ties: the earlier reply; unscored replies rank last; the report counts them).
    * ``mode: pairs``: every reply whose ``parent`` names another post of the thread becomes
      ``[user: that post, assistant: the reply]`` (``context: chain``: the whole chain from the root).

    Counting: the example takes the place of one input record and keeps its ``id``, ``source`` and
    ``meta`` (the opening post for thread/best_reply, the reply for pairs), with ``meta.group`` naming the
    thread and its posts. Every other post is dropped with a reason that says where it went, so that
    ``in = out + dropped`` holds and ``dropped/`` shows each post: ``merged_into`` (detail ``into``: the
    id of the example that holds it), ``not_best_reply``, ``used_as_prompt``, ``unanswered``,
    ``no_reply`` (a thread nobody answered), ``parent_missing``, ``no_thread`` (no ``by`` value) and
    ``empty_post``. We chose this over dropping every post and *generating* new records: the examples
    keep the ids of real posts (resume, dedup and leakage checks can name them), and the merge is
    visible per record. A thread may span shards: the reduce holds every post's text (memory about the
    size of the text column) and each shard's plan holds the examples that shard emits.

    Reads ``by``, ``order``, ``text`` (and ``title``, ``author``, ``score``, ``post_id``, ``parent``);
    writes ``messages`` and ``kind`` (``sft`` for one exchange, ``chat`` for more), removes ``text``
    from an example when the posts' text was read from it.

    ``system`` (none by default) is a system prompt put first in every conversation.
    """

    name: ClassVar[str] = "group"
    Params = GroupParams
    reads: ClassVar[tuple[str, ...]] = ("text", "meta")
    writes: ClassVar[tuple[str, ...]] = ("messages", "kind", "meta")

    def __init__(self, params: GroupParams) -> None:
        super().__init__(params)
        self._report: dict[str, Any] = {}

    def _read(self, record: Record, path: str | None) -> Any:
        return None if path is None else get_path(record, path)

    def signature(self, record: Record) -> Signature:
        p = self.params
        text = read_value(record, p.text)
        key = key_text(self._read(record, p.by)) if p.by is not None else ""
        author = self._read(record, p.author)
        title = self._read(record, p.title)
        post = Post(
            record_id=str(record.get("id")),
            text=text if isinstance(text, str) else "",
            order=sort_key(self._read(record, p.order)) if p.order is not None else MISSING_ORDER,
            author=None if author is None else str(author),
            score=as_number(self._read(record, p.score)),
            post_id=key_text(self._read(record, p.post_id)) if p.post_id is not None else str(record.get("id")),
            parent=key_text(self._read(record, p.parent)),
            title=title if isinstance(title, str) else None,
        )
        return key, post

    def reduce(self, shards: Iterator[ShardSignatures[Signature]]) -> dict[str, Plan]:
        threads: dict[str, list[Post]] = {}
        where: dict[str, tuple[str, int]] = {}  # record id -> (shard, index)
        plans: dict[str, Plan] = {}
        position = 0
        for shard in shards:
            plan: Plan = {}
            plans[shard.shard] = plan
            for index, signature in enumerate(shard.signatures):
                assert signature is not None
                key, post = signature
                where[post.record_id] = (shard.shard, index)
                post = dataclasses.replace(post, position=position)
                position += 1
                if key is None:
                    plan[index] = ("no_thread", {"field": self.params.by})
                elif not post.text.strip():
                    plan[index] = ("empty_post", {"thread": key})
                else:
                    threads.setdefault(key, []).append(post)
        counts: Counter[str] = Counter()
        for key, posts in threads.items():
            outcome = self._outcome(posts)
            if self.params.mode == "best_reply":
                counts["replies_without_score"] += sum(1 for post in in_order(posts)[1:] if post.score is None)
            for record_id, (messages, held) in outcome.emit.items():
                shard_name, index = where[record_id]
                plans[shard_name][index] = {"messages": self._with_system(messages),
                                            "group": {"thread": key, "mode": self.params.mode, "posts": held}}
                counts["examples"] += 1
            for record_id, (reason, detail) in outcome.drop.items():
                shard_name, index = where[record_id]
                plans[shard_name][index] = (reason, {"thread": key, **detail})
            counts["threads"] += 1
            counts["posts"] += len(posts)
        self._report = {"threads": counts["threads"], "posts_in_threads": counts["posts"],
                        "examples": counts["examples"]}
        if self.params.mode == "best_reply":
            self._report["replies_without_score"] = counts["replies_without_score"]
        return plans

    def _outcome(self, posts: list[Post]) -> Outcome:
        p = self.params
        if p.mode == "thread":
            return build_thread(posts, by_author=p.author is not None)
        if p.mode == "best_reply":
            return best_reply(posts, by_author=p.author is not None)
        return pairs(posts, chain=p.context == "chain")

    def _with_system(self, messages: Messages) -> Messages:
        if self.params.system:
            return [{"role": "system", "content": self.params.system}, *messages]
        return messages

    def apply(self, record: Record, index: int, plan: Plan) -> Record | Drop:
        action = plan[index]
        if isinstance(action, tuple):
            reason, detail = action
            return Drop(reason, detail)
        messages = action["messages"]
        record["messages"] = messages
        record["kind"] = "sft" if sum(1 for m in messages if m["role"] != "system") == 2 else "chat"
        if self.params.text == "text":
            record.pop("text", None)
        meta = record.get("meta")
        record["meta"] = {**(meta if isinstance(meta, dict) else {}), "group": action["group"]}
        return record

    def report(self) -> dict[str, Any]:
        return self._report
