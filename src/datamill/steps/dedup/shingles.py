"""Script detection and shingling for MinHash: word n-grams, or character n-grams for Chinese/Japanese.

Chinese and Japanese are written without spaces, so a "word" split would give one token per
sentence and MinHash would see almost nothing; character n-grams work there. Detection is per record:
a record is CJK when at least :data:`CJK_SHARE` of its non-space characters are Han, kana or CJK
punctuation-free ideographs, so mixed English prompts with one Chinese name stay word-based.
"""

from __future__ import annotations

import re
from typing import Literal

CJK_SHARE = 0.3
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

Tokenize = Literal["auto", "words", "chars"]


def is_cjk(text: str) -> bool:
    """True when Chinese/Japanese characters make up at least :data:`CJK_SHARE` of the non-space text."""
    if text.isascii():
        return False
    letters = len(text) - text.count(" ") - text.count("\n")
    return letters > 0 and len(_CJK.findall(text)) >= CJK_SHARE * letters


def shingles(text: str, how: Tokenize, word_ngram: int, char_ngram: int) -> tuple[list[str], bool]:
    """The shingle list of ``text`` and whether character n-grams were used.

    A text shorter than one n-gram is a single shingle (itself), so short texts still compare.
    """
    chars = how == "chars" or (how == "auto" and is_cjk(text))
    if chars:
        flat = "".join(text.split())
        n = char_ngram
        if len(flat) <= n:
            return ([flat] if flat else []), True
        return [flat[i:i + n] for i in range(len(flat) - n + 1)], True
    words = text.split()
    n = word_ngram
    if len(words) <= n:
        return ([" ".join(words)] if words else []), False
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)], False


_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")


def script_language(text: str) -> str:
    """A coarse language from the script: ``zh`` (Han), ``ja`` (kana present), ``ko`` (Hangul) or ``other``."""
    if text.isascii():
        return "other"
    if is_cjk(text):
        return "ja" if _KANA.search(text) else "zh"
    letters = len(text) - text.count(" ")
    if letters and len(_HANGUL.findall(text)) >= CJK_SHARE * letters:
        return "ko"
    return "other"
