"""Character classes and protected spans shared by the cleaning steps.

Cleaning rewrites prose. Code (Markdown fenced blocks and inline code) and LaTeX math are not prose: a
comma inside a Python string, the indentation of a block, ``$5x+3$`` or ``<b>`` in a code span are
exact, and a step that "fixes" them damages the text. :func:`map_outside` applies a rewrite to the
prose between those spans only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

#: Han characters (CJK unified ideographs, extension A, compatibility ideographs).
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: Hiragana and katakana (with the phonetic extensions and half-width katakana).
KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
HIRAGANA = "\u3040-\u309f"
HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
#: CJK symbols and punctuation (、。「」【】〜 ...), full-width and half-width forms (，（）！？：；).
CJK_PUNCT = "\u3000-\u303f\uff00-\uff65\ufe30-\ufe4f"
#: Every character that belongs to CJK text: ideographs, kana, hangul, bopomofo, CJK punctuation.
CJK_TEXT = HAN + KANA + HANGUL + "\u3100-\u312f" + CJK_PUNCT

#: ```fenced``` or ~~~fenced~~~ blocks (an unclosed fence runs to the end of the text), then `inline` code.
CODE = re.compile(
    r"(?ms)^[ \t]*(?P<fence>`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*(?P=fence)[ \t]*$|\Z)"
    r"|(?P<ticks>`+)[^`\n](?:[^\n]*?[^`\n])??(?P=ticks)(?!`)"
)
#: LaTeX math: $$...$$, \[...\], \(...\), and $...$ by pandoc's rule (the opening $ has a non-space
#: character right after it, the closing one a non-space character right before it and no digit after
#: it), so that "costs $5 and $10" is not math.
MATH = re.compile(
    r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)"
    r"|(?<![\\$])\$(?=[^\s$])(?:[^$\n\\]|\\.)+?(?<=[^\s\\])\$(?![\d$])",
    re.S,
)


def might_match(text: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    """False when none of ``patterns`` (CODE, MATH) can match: the text lacks the characters they need.
    Any other pattern might always match."""
    if any(p is not CODE and p is not MATH for p in patterns):
        return True
    marks = ("`", "~") + (("$", "\\") if MATH in patterns else ())
    return any(mark in text for mark in marks)


def protected_spans(text: str, patterns: tuple[re.Pattern[str], ...]) -> Iterator[tuple[int, int]]:
    """Non-overlapping ``(start, end)`` spans matched by ``patterns``, the earlier pattern winning."""
    taken: list[tuple[int, int]] = []
    for pattern in patterns:
        for m in pattern.finditer(text):
            if m.end() > m.start() and not any(s < m.end() and m.start() < e for s, e in taken):
                taken.append((m.start(), m.end()))
    yield from sorted(taken)


def map_outside(text: str, fn: Callable[[str], str], patterns: tuple[re.Pattern[str], ...] = (CODE,),
                after_code: Callable[[str], str] | None = None) -> str:
    """``fn`` applied to each stretch of ``text`` outside the spans ``patterns`` match (code by default);
    the spans themselves are kept byte for byte. ``after_code`` (default ``fn``) rewrites the stretches
    that follow a span."""
    if not might_match(text, patterns):
        return fn(text)
    later = after_code or fn
    out: list[str] = []
    pos = 0
    for start, end in protected_spans(text, patterns):
        if start > pos:
            out.append((fn if pos == 0 else later)(text[pos:start]))
        out.append(text[start:end])
        pos = end
    if pos < len(text) or not out:
        out.append((fn if pos == 0 else later)(text[pos:]))
    return "".join(out)
