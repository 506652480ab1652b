"""Which writing systems a text uses, and how much of it each one writes.

``script_shares(text)`` counts the letters of each script (Han, kana, Hangul, Latin, Cyrillic...) and
weights every CJK character as :data:`CJK_WEIGHT` Latin letters, because one Chinese character carries
about as much as 2.7 English letters: on the line-aligned zh->en translations in the corpora (WMT TED
zh-en sources and targets; Shopee product titles) the English side has 2.67 and 2.83 Latin letters per
Han character of the Chinese side. A share is then "how much of the text is written in this script",
measured in English-letter equivalents; digits, punctuation, spaces and Markdown code do not count.
"""

from __future__ import annotations

from collections import Counter

from datamill.steps.clean.spans import CODE, protected_spans

#: Latin letters per CJK character (measured, see the module docstring).
CJK_WEIGHT = 2.7

_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "latin"), (0x0061, 0x007A, "latin"), (0x00C0, 0x024F, "latin"), (0x1E00, 0x1EFF, "latin"),
    (0x0370, 0x03FF, "greek"), (0x0400, 0x052F, "cyrillic"), (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"), (0x0750, 0x077F, "arabic"), (0x0900, 0x097F, "devanagari"),
    (0x0E00, 0x0E7F, "thai"), (0x1100, 0x11FF, "hangul"), (0x3040, 0x30FF, "kana"), (0x31F0, 0x31FF, "kana"),
    (0x3130, 0x318F, "hangul"), (0x3400, 0x4DBF, "han"), (0x4E00, 0x9FFF, "han"), (0xAC00, 0xD7AF, "hangul"),
    (0xF900, 0xFAFF, "han"), (0xFF21, 0xFF3A, "latin"), (0xFF41, 0xFF5A, "latin"), (0xFF66, 0xFF9F, "kana"),
    (0x20000, 0x3134F, "han"),
)
_CJK = frozenset({"han", "kana", "hangul"})

_LATIN_LANGUAGES = frozenset((
    "af", "az", "bs", "ca", "cs", "cy", "da", "de", "en", "eo", "es", "et", "eu", "fi", "fr", "ga", "gl", "hr",
    "hu", "id", "is", "it", "la", "lg", "lt", "lv", "mi", "ms", "nb", "nl", "nn", "no", "pl", "pt", "ro", "sk",
    "sl", "sn", "so", "sq", "st", "sv", "sw", "tl", "tn", "tr", "ts", "uz", "vi", "xh", "yo", "zu",
))
#: ISO 639-1 code -> the scripts its text is written in (languages not listed have no script rule).
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    "zh": frozenset({"han"}), "ja": frozenset({"kana", "han"}), "ko": frozenset({"hangul"}),
    **{code: frozenset({"cyrillic"}) for code in ("ru", "uk", "bg", "sr", "mk", "be", "kk", "mn")},
    "el": frozenset({"greek"}), "he": frozenset({"hebrew"}), "th": frozenset({"thai"}),
    **{code: frozenset({"arabic"}) for code in ("ar", "fa", "ur")},
    **{code: frozenset({"devanagari"}) for code in ("hi", "mr", "ne")},
    **{code: frozenset({"latin"}) for code in _LATIN_LANGUAGES},
}


def script_of(char: str) -> str | None:
    cp = ord(char)
    if cp < 0x41:
        return None
    for start, end, script in _RANGES:
        if start <= cp <= end:
            return script if char.isalpha() else None
    return None


def without_code(text: str) -> str:
    """``text`` without its Markdown code (fenced blocks, inline code): code is nobody's language."""
    if "`" not in text and "~" not in text:
        return text
    parts, pos = [], 0
    for start, end in protected_spans(text, (CODE,)):
        parts.append(text[pos:start])
        pos = end
    parts.append(text[pos:])
    return " ".join(parts)


def script_shares(text: str) -> dict[str, float]:
    """``{script: share}`` of the weighted letters of ``text`` outside Markdown code (empty for a text
    without letters)."""
    counts: Counter[str] = Counter()
    for char in without_code(text):
        script = script_of(char)
        if script is not None:
            counts[script] += 1
    total = sum(n * (CJK_WEIGHT if s in _CJK else 1.0) for s, n in counts.items())
    if not total:
        return {}
    return {s: n * (CJK_WEIGHT if s in _CJK else 1.0) / total for s, n in counts.items()}


def language_share(shares: dict[str, float], language: str) -> float:
    """The share of the text written in ``language``'s scripts (0 for a language without a script rule)."""
    return sum(shares.get(s, 0.0) for s in LANGUAGE_SCRIPTS.get(language, ()))


def scripts_disjoint(a: str, b: str) -> bool:
    """True when both languages have a script rule and share no script (zh/en yes; zh/ja, en/fr no)."""
    sa, sb = LANGUAGE_SCRIPTS.get(a), LANGUAGE_SCRIPTS.get(b)
    return sa is not None and sb is not None and not (sa & sb)
