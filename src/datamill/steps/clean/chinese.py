"""The ``chinese_convert`` step: Traditional <-> Simplified Chinese with OpenCC."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from datamill.errors import require
from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.spans import HIRAGANA

#: A sentence (up to and including its end mark or line end) holding hiragana is Japanese, whose kanji are
#: not Traditional Chinese: 東京は... must not become 东京は...
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?\n]+|$)")
_HIRAGANA = re.compile(f"[{HIRAGANA}]")

Config = Literal["t2s", "s2t", "s2tw", "s2twp", "tw2s", "tw2sp", "s2hk", "hk2s", "t2tw", "t2hk", "tw2t", "hk2t"]


class ChineseConvertParams(CleanParams):
    config: Config = Field(
        default="t2s",
        description="OpenCC conversion: t2s (Traditional -> Simplified, default: most zh training data is "
        "Simplified), s2t, s2tw / s2twp (Taiwan standard, p: with phrases such as 软件 -> 軟體), tw2s / "
        "tw2sp, s2hk, hk2s...",
    )


class ChineseConvert(CleanStep[ChineseConvertParams]):
    """Convert between Traditional and Simplified Chinese (and regional variants) with OpenCC.

    Acts on ``on`` (default ``all``). Uses the ``opencc`` package from PyPI (the official C++ OpenCC
    with its dictionaries bundled; works offline); ``opencc-python-reimplemented`` installs a module of
    the same name and must not be installed next to it. Text without Chinese characters is passed
    through untouched, and so is every sentence that holds hiragana (Japanese: its kanji are not
    Traditional Chinese; katakana alone, as in a brand name inside a Chinese sentence, does not count).
    Nothing else changes: ASCII, punctuation and emoji are left as they are (``s2twp``-style configs also
    replace phrases, as OpenCC defines them). Needs ``datamill[clean]``.

    ``config`` is the OpenCC conversion (``t2s`` by default: most Chinese training data is Simplified; ``s2twp``
    for Taiwan standard with phrases).
    """

    name: ClassVar[str] = "chinese_convert"
    Params = ChineseConvertParams
    version: ClassVar[str] = "3"
    cleans_tool_arguments: ClassVar[bool] = True

    def setup(self) -> None:
        opencc: Any = require("opencc", "clean", "chinese_convert")
        self._converter = opencc.OpenCC(f"{self.params.config}.json")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_converter"}

    def clean(self, text: str) -> str:
        if text.isascii():
            return text
        if not hasattr(self, "_converter"):
            self.setup()
        if not _HIRAGANA.search(text):
            out: str = self._converter.convert(text)
            return out
        return "".join(m[0] if _HIRAGANA.search(m[0]) else self._converter.convert(m[0])
                       for m in _SENTENCE.finditer(text) if m[0])
