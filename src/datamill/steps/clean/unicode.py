"""The ``fix_unicode`` step: repair mojibake and broken Unicode with ftfy."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from datamill.errors import require
from datamill.steps.clean.base import CleanParams, CleanStep


class FixUnicodeParams(CleanParams):
    normalization: Literal["NFC", "NFKC"] | None = Field(
        default="NFC",
        description="Unicode normalization after repair; NFC (default) keeps full-width forms, which the "
        "normalize step handles on purpose; NFKC also folds them; null: none",
    )
    uncurl_quotes: bool = Field(default=False, description="turn curly quotes into straight ones (changes zh text)")


class FixUnicode(CleanStep[FixUnicodeParams]):
    """Repair text decoded with the wrong codec (``â€™`` -> ``’``, ``æ–‡`` -> ``文``), HTML entities left
    in plain text, control characters and broken surrogates, using ftfy's ``fix_text``.

    Acts on ``on`` (default ``all``). Curly quotes are kept by default because Chinese text uses them
    (“”); ``normalization`` defaults to NFC, the lossless form. Idempotent. Needs ``datamill[clean]``.

    ``uncurl_quotes`` (off by default, because it changes Chinese text) turns curly quotes into straight ones.
    """

    name: ClassVar[str] = "fix_unicode"
    Params = FixUnicodeParams

    def setup(self) -> None:
        ftfy: Any = require("ftfy", "clean", "fix_unicode")
        self._config = ftfy.TextFixerConfig(
            normalization=self.params.normalization, uncurl_quotes=self.params.uncurl_quotes, explain=False,
        )
        self._fix = ftfy.fix_text

    def clean(self, text: str) -> str:
        if not hasattr(self, "_fix"):
            self.setup()
        if text.isascii() and "&" not in text and not any(c < " " and c not in "\t\n\r" for c in text):
            return text
        out: str = self._fix(text, config=self._config)
        return out
