"""The ``normalize`` step: whitespace, full-width/half-width forms and punctuation style."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import Field

from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.spans import CODE, HAN, map_outside

#: Full-width digits and Latin letters (０-９, Ａ-Ｚ, ａ-ｚ) and the ideographic space -> ASCII.
_HALF_WIDTH = {cp: cp - 0xFEE0 for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
               for cp in range(r[0], r[1] + 1)} | {0x3000: 0x20}
#: Invisible characters that only get in the way of training: zero-width space, word joiner, BOM, soft hyphen.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"))
#: Zero-width (non-)joiners carry meaning between emoji (👨‍👩‍👧) and in Persian or Indic words; they are
#: removed only next to ASCII, CJK text, whitespace or at a text's ends, where they are stray.
_PLAIN = rf"[\x00-\x7f{HAN}\u3000-\u30ff\uff00-\uffef]"
_STRAY_JOINER = re.compile(rf"(?:^|(?<={_PLAIN}))[\u200c\u200d]+|[\u200c\u200d]+(?={_PLAIN}|$)")
_CJK = f"[{HAN}]"
#: ASCII punctuation right after a Han character -> its full-width form (the space after it goes too).
_TO_FULL = str.maketrans({",": "，", "!": "！", "?": "？", ":": "：", ";": "；", ".": "。"})
#: A run of ASCII marks right after a Han character, and the spaces after it; see :func:`_full_width`.
_ASCII_AFTER_CJK = re.compile(rf"(?<={_CJK})([,!?:;.]+)([ \t]*)")
_ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
#: ``一.`` ``二十.`` at a line start: a list number, not the end of a sentence.
_NUMERAL_LINE_START = re.compile(r"(?:^|\n)[ \t]*[一二三四五六七八九十百零〇]+$")
#: Code written without a Markdown fence, whose punctuation is not prose: a call with its arguments
#: (``input('数量: ')``, ``f(电子, 氢离子)``) and a string literal after ``= ( [ { , :`` (an assignment, an
#: argument, a JSON or dict value). Prose caught by these keeps its ASCII marks, which is harmless.
CODE_CALL = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_.]*\([^()\n]*\)")
CODE_STRING = re.compile(r"""(?<=[=(\[{,:])[ \t]*(["'])(?:(?!\1)[^\\\n]|\\.)*\1""")
#: Full-width punctuation -> ASCII (for ``punctuation: ascii``).
_TO_ASCII = str.maketrans({"，": ",", "。": ".", "！": "!", "？": "?", "：": ":", "；": ";", "（": "(", "）": ")"})
#: A run of spaces inside a line (after its first visible character); indentation is kept.
_SPACE_CHARS = " \t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
_INNER_SPACES = re.compile(f"(?<=\\S)[{_SPACE_CHARS}]+")
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK}) +(?={_CJK})")


class NormalizeParams(CleanParams):
    whitespace: bool = Field(
        default=True,
        description="unify line ends, collapse runs of spaces/tabs inside lines, trim line ends, at most one "
        "blank line in a row, remove the text's common indentation and zero-width characters; indentation "
        "and code blocks are kept",
    )
    width: bool = Field(
        default=True,
        description="full-width digits, Latin letters and the ideographic space to ASCII (１２３ＡＢＣ -> 123ABC); "
        "punctuation is left to 'punctuation'",
    )
    punctuation: Literal["keep", "cjk", "ascii"] = Field(
        default="cjk",
        description="cjk: ASCII , ! ? : ; and a sentence-final . (before a space or the end) right after a "
        "Chinese character become full-width, a run of marks all or none (Chinese typography; numbers like "
        "3.14, English text and unfenced calls and string literals are untouched); ascii: "
        "full-width punctuation becomes ASCII; keep: no change",
    )
    cjk_spaces: bool = Field(default=False, description="remove spaces between two Chinese characters")


def _common_prefix(strings: list[str]) -> str:
    """The longest string every one of ``strings`` starts with (\"\" for none)."""
    if not strings:
        return ""
    low, high = min(strings), max(strings)  # the common prefix of all is that of the extremes
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    return low[:n]


def _full_width(m: re.Match[str]) -> str:
    """The full-width form of one run of marks after a Han character, or the run unchanged: all of it
    converts or none of it. ``!`` and ``?`` convert in runs (``怎么办??`` -> ``怎么办？？``); ``, : ;``
    alone; ``.`` alone and only at a sentence end: before whitespace or the end of the text, not after
    a list number (``一. 介绍``), never between two characters (``当前.下一个`` is code, ``二.低`` a
    number). Marks followed by other ASCII punctuation (``:-)``, ``,"``) are left."""
    marks, text = m[1], m.string
    after = text[m.end(1)] if m.end(1) < len(text) else ""
    if after and after in _ASCII_PUNCT:
        return m[0]
    if set(marks) <= {"!", "?"} or (len(marks) == 1 and marks in ",:;"):
        return marks.translate(_TO_FULL)
    if marks == "." and (m[2] or not after or after.isspace()):
        if _NUMERAL_LINE_START.search(text, 0, m.start()):
            return m[0]
        return "。"
    return m[0]


def _cjk_punctuation(text: str) -> str:
    """ASCII punctuation after Han characters to full-width, outside calls and string literals."""
    convert: Callable[[str], str] = lambda stretch: _ASCII_AFTER_CJK.sub(_full_width, stretch)  # noqa: E731
    if "(" in text or '"' in text or "'" in text:
        return map_outside(text, convert, (CODE_CALL, CODE_STRING))
    return convert(text)


def _fenced_ranges(text: str) -> list[tuple[int, int]]:
    if "```" not in text and "~~~" not in text:
        return []
    return [m.span() for m in CODE.finditer(text) if m.group("fence")]


class Normalize(CleanStep[NormalizeParams]):
    """Normalize whitespace, character width and punctuation style, for Chinese and English text.

    Acts on ``on`` (default ``all``). What changes by default, and nothing else:

    * line ends become ``\\n``; runs of spaces and tabs inside a line become one space; spaces at line
      ends go; at most one blank line in a row; leading blank lines, trailing whitespace and the
      indentation common to all lines go (the relative indentation of code is kept); zero-width spaces,
      word joiners, BOMs and soft hyphens are removed, and zero-width joiners where they are stray (the
      ones inside emoji sequences such as 👨‍👩‍👧 stay);
    * full-width Latin letters and digits and the ideographic space become ASCII (so ``３`` and ``3``
      are one token); full-width punctuation is kept;
    * ASCII punctuation right after a Han character becomes full-width (``你好,世界`` -> ``你好，世界``),
      a run of marks all or none: ``!``/``?`` runs (``怎么办??`` -> ``怎么办？？``), a lone ``, : ;``, a
      lone ``.`` only before whitespace or the text's end (``当前.下一个`` and ``一. 介绍`` stay); English
      text keeps ASCII punctuation. Unfenced code keeps its marks: a call with its arguments
      (``input('数量: ')``) and a string literal after ``= ( [ { , :`` (assignments, JSON values).

    Markdown code (fenced blocks, inline code) is left byte for byte except for line ends and
    zero-width characters: punctuation in a code comment and the spacing of a block are code. Idempotent.

    ``cjk_spaces`` (off by default) removes spaces between two Chinese characters.
    """

    name: ClassVar[str] = "normalize"
    Params = NormalizeParams
    version: ClassVar[str] = "2"

    def clean(self, text: str) -> str:
        p = self.params
        if p.whitespace:
            text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
            if "\u200c" in text or "\u200d" in text:
                text = _STRAY_JOINER.sub("", text)
        text = map_outside(text, self._prose, after_code=self._prose_after_code)
        if p.whitespace:
            text = self._lines(text)
        return text

    def _prose(self, text: str) -> str:
        """One stretch of prose between code spans (a stretch after inline code starts mid-line)."""
        p = self.params
        if p.width:
            text = text.translate(_HALF_WIDTH)
        if p.punctuation == "cjk":
            text = _cjk_punctuation(text)
        elif p.punctuation == "ascii":
            text = text.translate(_TO_ASCII)
        if p.cjk_spaces:
            text = _SPACE_BETWEEN_CJK.sub("", text)
        if p.whitespace:
            text = _INNER_SPACES.sub(" ", text)
        return text

    def _prose_after_code(self, text: str) -> str:
        """A stretch that starts right after inline code, mid-line: its leading spaces are inner spaces."""
        stripped = text.lstrip(_SPACE_CHARS)
        if len(stripped) < len(text) and not stripped.startswith("\n"):
            return " " + self._prose(stripped) if self.params.whitespace else self._prose(text)
        return self._prose(text)

    @staticmethod
    def _lines(text: str) -> str:
        fenced = _fenced_ranges(text)
        if not fenced and "\n" not in text:
            return text.strip(" \t")
        lines: list[tuple[str, bool]] = []  # (line, inside a fenced block)
        pos = 0
        for line in text.split("\n"):
            in_code = any(start <= pos < end for start, end in fenced)
            lines.append((line if in_code else line.rstrip(), in_code))
            pos += len(line) + 1
        kept: list[tuple[str, bool]] = []
        for line, in_code in lines:
            if not in_code and not line and (not kept or (not kept[-1][0] and not kept[-1][1])):
                continue  # leading blank lines and a second blank line in a row
            kept.append((line, in_code))
        indents = [line[: len(line) - len(line.lstrip(" \t"))] for line, in_code in kept if line and not in_code]
        cut = len(_common_prefix(indents))
        if cut:
            kept = [(line if in_code else line[cut:], in_code) for line, in_code in kept]
        return "\n".join(line for line, _ in kept).rstrip()
