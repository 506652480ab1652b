"""The ``group`` step: forum threads become conversations or pairs; every post is accounted for."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from datamill.records import Record
from datamill.steps.group import Group, GroupParams
from datamill.steps.threads import Outcome, Post, best_reply, pairs, sort_key, thread

from .helpers import ids, run_global_step


def post(record_id: str, text: str, order: Any = None, author: str | None = None, score: float | None = None,
         post_id: str | None = None, parent: str | None = None, title: str | None = None) -> Post:
    return Post(record_id=record_id, text=text, order=sort_key(order), position=int(record_id.split(":")[-1]),
                author=author, score=score, post_id=post_id, parent=parent, title=title)


def u(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def a(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


THREAD = [post("t:0", "怎么装Python？", 1, "op"), post("t:1", "去官网下载。", 2, "b"),
          post("t:2", "下载哪个版本？", 3, "op"), post("t:3", "3.12。", 4, "c"), post("t:4", "谢谢！", 5, "op")]

#: (outcome, emitted {record id: messages}, dropped {record id: reason})
CASES: list[tuple[Outcome, dict[str, list[dict[str, str]]], dict[str, str]]] = [
    # by author: the opening author's posts are the user's, a trailing thank-you has no answer
    (thread(THREAD, by_author=True),
     {"t:0": [u("怎么装Python？"), a("去官网下载。"), u("下载哪个版本？"), a("3.12。")]},
     {"t:1": "merged_into", "t:2": "merged_into", "t:3": "merged_into", "t:4": "unanswered"}),
    # consecutive replies of other people are one assistant turn; posts are ordered by value, "10" after "9"
    (thread([post("t:0", "q", "1", "op"), post("t:1", "r10", "10", "x"), post("t:2", "r9", "9", "y")], True),
     {"t:0": [u("q"), a("r9\n\nr10")]}, {"t:1": "merged_into", "t:2": "merged_into"}),
    # without authors the posts alternate
    (thread([post("t:0", "q"), post("t:1", "r1"), post("t:2", "r2")], by_author=False),
     {"t:0": [u("q"), a("r1")]}, {"t:1": "merged_into", "t:2": "unanswered"}),
    # the thread's title goes before the opening post, once
    (thread([post("t:0", "正文", title="标题"), post("t:1", "回复")], False),
     {"t:0": [u("标题\n\n正文"), a("回复")]}, {"t:1": "merged_into"}),
    (thread([post("t:0", "标题：正文", title="标题"), post("t:1", "回复")], False),
     {"t:0": [u("标题：正文"), a("回复")]}, {"t:1": "merged_into"}),
    # nobody answered
    (thread([post("t:0", "q", author="op"), post("t:1", "bump", author="op")], True), {},
     {"t:0": "no_reply", "t:1": "no_reply"}),
    # best reply: the highest score, the earlier of a tie; unscored replies rank last
    (best_reply([post("b:0", "q"), post("b:1", "ok", score=3), post("b:2", "best", score=10),
                 post("b:3", "also 10", score=10), post("b:4", "unscored")], by_author=False),
     {"b:0": [u("q"), a("best")]},
     {"b:1": "not_best_reply", "b:2": "merged_into", "b:3": "not_best_reply", "b:4": "not_best_reply"}),
    # with authors the opening author's own reply is not a candidate
    (best_reply([post("b:0", "q", author="op"), post("b:1", "self", author="op", score=99),
                 post("b:2", "answer", author="x", score=1)], by_author=True),
     {"b:0": [u("q"), a("answer")]}, {"b:1": "not_best_reply", "b:2": "merged_into"}),
    (best_reply([post("b:0", "q")], by_author=False), {}, {"b:0": "no_reply"}),
    # pairs: each reply with the post it answers
    (pairs([post("p:0", "root", post_id="1"), post("p:1", "re root", post_id="2", parent="1"),
            post("p:2", "re re", post_id="3", parent="2"), post("p:3", "lost", post_id="4", parent="99"),
            post("p:4", "alone", post_id="5")], chain=False),
     {"p:1": [u("root"), a("re root")], "p:2": [u("re root"), a("re re")]},
     {"p:0": "used_as_prompt", "p:3": "parent_missing", "p:4": "no_reply"}),
    # chain: from the root down, opening with a user turn
    (pairs([post("p:0", "root", post_id="1"), post("p:1", "A", post_id="2", parent="1"),
            post("p:2", "B", post_id="3", parent="2"), post("p:3", "C", post_id="4", parent="3")], chain=True),
     {"p:1": [u("root"), a("A")], "p:2": [u("A"), a("B")], "p:3": [u("root"), a("A"), u("B"), a("C")]},
     {"p:0": "used_as_prompt"}),
]


@pytest.mark.parametrize(("outcome", "emitted", "dropped"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_thread_table(outcome: Outcome, emitted: dict[str, Any], dropped: dict[str, str]) -> None:
    assert {k: messages for k, (messages, _) in outcome.emit.items()} == emitted
    assert {k: reason for k, (reason, _) in outcome.drop.items()} == dropped
    assert not set(outcome.emit) & set(outcome.drop)


def forum(rows: list[dict[str, Any]]) -> list[Record]:
    """Records as the ``raw`` format reads a forum dump: every column in meta."""
    return [{"id": f"f:{i}", "source": "f", "kind": "raw", "meta": row} for i, row in enumerate(rows)]


ROWS: list[dict[str, Any]] = [
    {"thread_id": 7, "floor": "2", "user": "b", "content": "去官网下载。", "likes": "5"},
    {"thread_id": "8", "floor": 1, "user": "z", "content": "没人回的帖子"},
    {"thread_id": 7, "floor": "1", "user": "op", "content": "怎么装Python？", "title": "求助"},
    {"thread_id": "7", "floor": "3", "user": "c", "content": "用conda。", "likes": "12"},
    {"thread_id": None, "floor": 1, "user": "q", "content": "no thread"},
    {"thread_id": 7, "floor": "4", "user": "d", "content": "   "},
]


@pytest.mark.parametrize("shard_size", [1, 2, 10])
def test_thread_mode_across_shards(shard_size: int) -> None:
    step = Group(GroupParams(by="meta.thread_id", order="meta.floor", text="meta.content", author="meta.user",
                             title="meta.title"))
    kept, dropped = run_global_step(step, forum(ROWS), shard_size)
    assert ids(kept) == ["f:2"]
    (record,) = kept
    assert record["messages"] == [u("求助\n\n怎么装Python？"), a("去官网下载。\n\n用conda。")]
    assert record["kind"] == "sft" and record["meta"]["content"] == "怎么装Python？"
    assert record["meta"]["group"] == {"thread": "7", "mode": "thread", "posts": ["f:2", "f:0", "f:3"]}
    reasons = {r["id"]: (d.reason, d.detail.get("into")) for r, d in dropped}
    assert reasons == {"f:0": ("merged_into", "f:2"), "f:3": ("merged_into", "f:2"), "f:1": ("no_reply", None),
                       "f:4": ("no_thread", None), "f:5": ("empty_post", None)}
    assert len(kept) + len(dropped) == len(ROWS)


def test_best_reply_mode_and_system_prompt() -> None:
    step = Group(GroupParams(by="meta.thread_id", order="meta.floor", text="meta.content", mode="best_reply",
                             score="meta.likes",
                             system="你是论坛助手。"))
    kept, dropped = run_global_step(step, forum(ROWS), 2)
    assert [r["messages"] for r in kept] == [[{"role": "system", "content": "你是论坛助手。"}, u("怎么装Python？"),
                                              a("用conda。")]]
    assert {r["id"]: d.reason for r, d in dropped}["f:0"] == "not_best_reply"
    assert step.report()["replies_without_score"] == 0


def test_pairs_mode_on_text_records() -> None:
    records: list[Record] = [
        {"id": "x:0", "kind": "pretrain", "text": "Q?", "meta": {"pid": 1}},
        {"id": "x:1", "kind": "pretrain", "text": "A.", "meta": {"pid": 2, "reply_to": 1}},
    ]
    step = Group(GroupParams(mode="pairs", post_id="meta.pid", parent="meta.reply_to"))
    kept, dropped = run_global_step(step, records, 1)
    assert kept == [{"id": "x:1", "kind": "sft", "messages": [u("Q?"), a("A.")],
                     "meta": {"pid": 2, "reply_to": 1,
                              "group": {"thread": "", "mode": "pairs", "posts": ["x:0", "x:1"]}}}]
    assert [(r["id"], d.reason) for r, d in dropped] == [("x:0", "used_as_prompt")]


@pytest.mark.parametrize("bad", [
    {"mode": "thread"}, {"mode": "best_reply", "by": "meta.t"}, {"mode": "pairs"},
    {"by": "meta.t", "score": "meta.likes"}, {"by": "meta.t", "parent": "meta.p"}, {"by": "meta.t", "mode": "chain"},
    {"by": "thread_id"},  # a bare name: meta.thread_id
])
def test_bad_group_params(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GroupParams(**bad)


def test_a_forum_csv_through_the_engine(tmp_path: Path) -> None:
    rows = [
        {"thread_id": "1", "floor": "1", "author": "op", "content": "Python怎么安装？"},
        {"thread_id": "1", "floor": "2", "author": "a", "content": "官网下载安装包。"},
        {"thread_id": "1", "floor": "3", "author": "op", "content": "Windows也一样吗？"},
        {"thread_id": "1", "floor": "4", "author": "b", "content": "一样。"},
        {"thread_id": "2", "floor": "1", "author": "op2", "content": "有人吗"},
        {"thread_id": "3", "floor": "10", "author": "x", "content": "第二个回复"},
        {"thread_id": "3", "floor": "9", "author": "y", "content": "第一个回复"},
        {"thread_id": "3", "floor": "1", "author": "z", "content": "新帖"},
    ]
    with open(tmp_path / "forum.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    recipe = {"name": "forum", "inputs": [{"path": "forum.csv", "format": "raw"}],
              "steps": [{"group": {"by": "meta.thread_id", "order": "meta.floor", "text": "meta.content",
                                   "author": "meta.author"}}],
              "outputs": [{"format": "llamafactory-sharegpt", "path": "export/"}]}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    summary = run_recipe(load_recipe(tmp_path / "recipe.yaml"), tmp_path / "run", workers=1)
    stats = json.loads((tmp_path / "run/steps/01-group/stats.json").read_text())
    assert stats["in"] == 8 and stats["out"] == 2
    assert stats["dropped"] == {"merged_into": 5, "no_reply": 1}
    assert stats["in"] == stats["out"] + sum(stats["dropped"].values())
    assert summary["reconciled"] and summary["totals"]["written"] == 2
    dropped = [json.loads(line) for f in sorted((tmp_path / "run/steps/01-group/dropped").glob("*.jsonl"))
               for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(dropped) == 6
    # every merged post names the example that holds it
    assert {d["record"]["id"]: d["detail"]["into"] for d in dropped if d["reason"] == "merged_into"} == {
        "forum:1": "forum:0", "forum:2": "forum:0", "forum:3": "forum:0", "forum:5": "forum:7", "forum:6": "forum:7"}
    exported = json.loads(next((tmp_path / "run/export").glob("*.json")).read_text(encoding="utf-8"))
    assert [[t["value"] for t in r["conversations"]] for r in exported] == [
        ["Python怎么安装？", "官网下载安装包。", "Windows也一样吗？", "一样。"], ["新帖", "第一个回复\n\n第二个回复"]]
