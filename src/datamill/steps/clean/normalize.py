"""The ``normalize`` step: whitespace, full-width/half-width forms and punctuation style."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field

from datamill.steps.clean.base import CleanParams, CleanStep

#: Full-width digits and Latin letters (０-９, Ａ-Ｚ, ａ-ｚ) and the ideographic space -> ASCII.
_HALF_WIDTH = {cp: cp - 0xFEE0 for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
               for cp in range(r[0], r[1] + 1)} | {0x3000: 0x20}
#: Zero-width and other invisible characters that only get in the way of training.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
#: ASCII punctuation right after a CJK character -> its full-width form (the space after it goes too).
_TO_FULL = {",": "，", "!": "！", "?": "？", ":": "：", ";": "；"}
_ASCII_AFTER_CJK = re.compile(rf"(?<={_CJK})([,!?:;]|\.(?=\s|$|{_CJK}))[ \t]*")
#: Full-width punctuation -> ASCII (for ``punctuation: ascii``).
_TO_ASCII = str.maketrans({"，": ",", "。": ".", "！": "!", "？": "?", "：": ":", "；": ";", "（": "(", "）": ")"})
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK}) +(?={_CJK})")


class NormalizeParams(CleanParams):
    whitespace: bool = Field(
        default=True,
        description="unify line ends, collapse runs of spaces/tabs, trim lines and the text, "
        "at most one blank line in a row, remove zero-width characters",
    )
    width: bool = Field(
        default=True,
        description="full-width digits, Latin letters and the ideographic space to ASCII (１２３ＡＢＣ -> 123ABC); "
        "punctuation is left to 'punctuation'",
    )
    punctuation: Literal["keep", "cjk", "ascii"] = Field(
        default="cjk",
        description="cjk: ASCII , ! ? : ; and a sentence-final . right after a Chinese character become "
        "full-width (Chinese typography; numbers like 3.14 and English text are untouched); ascii: "
        "full-width punctuation becomes ASCII; keep: no change",
    )
    cjk_spaces: bool = Field(default=False, description="remove spaces between two Chinese characters")


class Normalize(CleanStep[NormalizeParams]):
    """Normalize whitespace, character width and punctuation style, for Chinese and English text.

    Acts on ``on`` (default ``all``). Defaults follow Chinese typography: full-width letters and
    digits become ASCII (so ``３`` and ``3`` are one token), punctuation after a Chinese character
    becomes full-width (``你好,世界`` -> ``你好，世界``), English text keeps ASCII punctuation. Idempotent.

    ``cjk_spaces`` (off by default) removes spaces between two Chinese characters.
    """

    name: ClassVar[str] = "normalize"
    Params = NormalizeParams

    def clean(self, text: str) -> str:
        p = self.params
        if p.whitespace:
            text = text.translate(_INVISIBLE)
        if p.width:
            text = text.translate(_HALF_WIDTH)
        if p.punctuation == "cjk":
            text = _ASCII_AFTER_CJK.sub(lambda m: _TO_FULL.get(m.group(1), "。"), text)
        elif p.punctuation == "ascii":
            text = text.translate(_TO_ASCII)
        if p.cjk_spaces:
            text = _SPACE_BETWEEN_CJK.sub("", text)
        if p.whitespace:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
            text = _BLANK_LINES.sub("\n\n", text).strip()
        return text
