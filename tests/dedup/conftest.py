"""Fixtures of the dedup tests: a small planted corpus (exact and near duplicates, zh + en)."""

from __future__ import annotations

import random

import pytest

from datamill.records import Record

WORDS = """
data model train fine tune prompt answer quality filter shard record token
window batch learning rate optimizer schedule gradient loss metric eval split sample
seed cluster graph vector index search query cache memory disk speed scale
""".split()  # noqa: SIM905
HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    "同工也能下过子说产种面而方后多定行学法所民得经"
)


def en_text(rng: random.Random, n: int = 40) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def zh_text(rng: random.Random, n: int = 40) -> str:
    return "".join(rng.choice(HAN) for _ in range(n))


def near_en(rng: random.Random, text: str) -> str:
    words = text.split()
    words[rng.randrange(len(words))] = rng.choice(WORDS)  # one word changed
    return " ".join(words)


def near_zh(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text))
    return text[:i] + rng.choice(HAN) + text[i + 1:]


def make_planted(n: int = 100, seed: int = 7) -> tuple[list[Record], dict[str, str]]:
    """``n`` originals (half zh), each with 0-2 near copies; returns (records, {copy id: original id})."""
    rng = random.Random(seed)
    records: list[Record] = []
    truth: dict[str, str] = {}
    for i in range(n):
        zh = i % 2 == 0
        text = zh_text(rng) if zh else en_text(rng)
        oid = f"o{i}"
        records.append({"id": oid, "source": "zh" if zh else "en", "kind": "sft",
                        "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "a"}]})
        for j in range(i % 3):
            copy = near_zh(rng, text) if zh else near_en(rng, text)
            cid = f"o{i}-c{j}"
            truth[cid] = oid
            records.append({"id": cid, "source": "zh" if zh else "en", "kind": "sft",
                            "messages": [{"role": "user", "content": copy}, {"role": "assistant", "content": "b"}]})
    rng.shuffle(records)
    return records, truth


@pytest.fixture
def planted() -> tuple[list[Record], dict[str, str]]:
    """100 originals (half zh), each with 0-2 near copies; returns (records, {copy id: original id})."""
    return make_planted()
