from __future__ import annotations

import random
import string

import numpy as np
import pytest

from datamill.steps.dedup.groups import PREVIEW_CHARS, preview
from datamill.steps.dedup.shingle_hashes import shingle_hashes, span_hashes
from datamill.steps.dedup.shingles import Tokenize, is_cjk, shingles
from datamill.steps.dedup_exact import Normalize, _punctuation_table, normalize_text


def _hash(text: str) -> int:
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return int(span_hashes(codes, np.array([0]), np.array([len(codes)]))[0])


def _texts() -> list[str]:
    rng = random.Random(7)
    alphabet = [*"abc de\n\tf.", "请", "解", "释", "一", "下", "ア", "。", " ", "\u3000"]
    fixed = ["", " \n ", "a", "a b", "a b c d", "请解释 一下", "机器学习 is fun", "x\ty\nz w"]
    return fixed + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(600)]


@pytest.mark.parametrize(("how", "word_ngram", "char_ngram"),
                         [("auto", 3, 3), ("auto", 1, 2), ("words", 2, 5), ("chars", 3, 1)])
def test_same_shingle_sets_as_strings(how: Tokenize, word_ngram: int, char_ngram: int) -> None:
    """Every row is exactly the hashed shingle set of :func:`shingles` (same chars/words decision)."""
    texts = _texts()
    hashes, offsets, chars = shingle_hashes(texts, how, word_ngram, char_ngram)
    assert len(offsets) == len(texts) + 1 and len(chars) == len(texts)
    for i, text in enumerate(texts):
        canon = " ".join(text.split())
        tokens, used_chars = shingles(canon, how, word_ngram, char_ngram)
        assert set(hashes[offsets[i]:offsets[i + 1]].tolist()) == {_hash(t) for t in tokens}, text
        assert bool(chars[i]) == used_chars, text
        if how == "auto":
            assert bool(chars[i]) == is_cjk(canon)


def test_hashes_independent_of_batch_and_distinct() -> None:
    texts = ["the quick brown fox jumps", "请解释一下机器学习"]
    alone = [shingle_hashes([t], "auto", 3, 3)[0] for t in texts]
    together, offsets, _ = shingle_hashes(["zzz yyy", *texts], "auto", 3, 3)
    assert together[offsets[1]:offsets[2]].tolist() == alone[0].tolist()
    assert together[offsets[2]:offsets[3]].tolist() == alone[1].tolist()
    # near-equal strings hash apart (length is mixed in, and every bit of the hash depends on every character)
    assert len({_hash(s) for s in ["ab", "ba", "a", "aa", "a\x00", "abc", "abd"]}) == 7


def test_preview_prefix_matches_full_collapse() -> None:
    long_gap = "word " + " " * (5 * PREVIEW_CHARS) + "tail " * 40
    for text in ["short  text", "x " * 300, long_gap, "\n".join(["line"] * 200), "a" * 1000]:
        flat = " ".join(text.split())
        expected = flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
        assert preview(text) == expected


def test_ascii_punctuation_fast_path_matches_table() -> None:
    how = Normalize(punctuation=True)
    text = string.printable + " Hello, World! (x y) z; 'quoted' \"x\" ~ok~"
    assert normalize_text(text, how) == " ".join(text.lower().translate(_punctuation_table()).split())
    # an operator between single-letter variables is kept (docs/dedup.md), the brackets go
    assert normalize_text("Hello, World! (x+y)=z;", how) == "hello world x+y=z"
