"""Batch normalization and punctuation removal give exactly the per-text results."""

from __future__ import annotations

import random
import sys
import unicodedata

import pytest

from datamill.steps.dedup_exact import (
    _KEPT,
    PUNCTUATION_PLANES_END,
    Normalize,
    _punctuation_table,
    normalize_batch,
    normalize_text,
    strip_punctuation,
)

# letters with context-dependent case (final sigma, dotted I), width forms, combining marks, every kind
# of whitespace Python splits on, punctuation of several scripts, NUL (the batch separator), and numbers
# with the signs, points and operators that survive punctuation removal (digits weighted up)
ALPHABET = list("aAbΣσςİß  \t\n\r\x1f\u3000\u2028.,!?？。，「」ＡｶéÉ中文\u0301\u200b\ufb01\x00"
                "0123456789１٣-+*/=<>^%‰:()（）xy－．") + list("0123456789")


def test_punctuation_only_in_the_scanned_planes() -> None:
    beyond = [cp for cp in range(PUNCTUATION_PLANES_END, sys.maxunicode + 1)
              if unicodedata.category(chr(cp)).startswith("P")]
    assert beyond == []


HOWS = [Normalize(), Normalize(punctuation=True), Normalize(whitespace=False, punctuation=True),
        Normalize(lowercase=False, width=False)]


@pytest.mark.parametrize("how", HOWS)
def test_normalize_batch_equals_one_by_one(how: Normalize) -> None:
    rng = random.Random(7)
    for _ in range(1500):
        texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
                 for _ in range(rng.randint(0, 7))]
        assert normalize_batch(texts, how) == [normalize_text(t, how) for t in texts], texts


def _piecewise(text: str) -> list[str]:
    """Kept formula characters as they are, the rest through the plain Unicode table (the reference)."""
    pieces = _KEPT.split(text)
    return [p if i % 2 else p.translate(_punctuation_table()) for i, p in enumerate(pieces)]


def test_strip_punctuation_long_texts_take_the_mask_path() -> None:
    rng = random.Random(3)
    table = _punctuation_table()
    for _ in range(200):
        ranges = [(0x20, 0x7E), (0x80, 0x3100), (0xD800, 0xDFFF), (0x10000, 0x1FFFF)]
        text = "".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.randint(250, 700)))
        if not any(c.isdigit() or c in "+-*/=<>^" for c in text):
            assert strip_punctuation(text) == text.translate(table)
        assert strip_punctuation(text) == "".join(_piecewise(text))
    assert strip_punctuation("「引用」，好！" * 60) == "引用好" * 60
