"""The ``fix_unicode`` step: repair mojibake and broken Unicode with ftfy."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from datamill.errors import require
from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.spans import CODE, protected_spans


class FixUnicodeParams(CleanParams):
    normalization: Literal["NFC", "NFKC"] | None = Field(
        default="NFC",
        description="Unicode normalization after repair; NFC (default) is lossless and keeps full-width forms; "
        "NFKC also folds full-width punctuation, letters and digits, ligatures, superscripts (x² -> x2) and "
        "circled numbers; null: none",
    )
    width: bool = Field(
        default=False,
        description="fold full-width letters, digits and punctuation and half-width katakana to their usual "
        "forms (ftfy's fix_character_width: ，（）？ -> ,()? even in Chinese text, ｶﾀｶﾅ -> カタカナ); off by "
        "default because full-width punctuation is correct Chinese typography (use normalize for letters "
        "and digits only)",
    )
    uncurl_quotes: bool = Field(default=False, description="turn curly quotes into straight ones (changes zh text)")
    line_breaks: bool = Field(
        default=False,
        description="turn \\r\\n, \\r, U+2028/U+2029 and U+0085 into \\n (off by default: line ends are "
        "whitespace, which the normalize step owns)",
    )
    unescape_html: bool = Field(
        default=True,
        description="decode HTML entities (&amp; &lt; &#20320;) in texts that contain no '<' (ftfy's 'auto'), "
        "outside Markdown code: they are leftovers of scraping; prose about HTML that spells out '&lt;' "
        "outside code is changed too",
    )


class FixUnicode(CleanStep[FixUnicodeParams]):
    """Repair text decoded with the wrong codec (``â€™`` -> ``’``, ``ä½\\xa0å¥½`` -> ``你好``), HTML
    entities left in plain text, control characters and broken surrogates, using ftfy's ``fix_text``.

    Acts on ``on`` (default ``all``). What changes by default, and nothing else: mojibake is decoded;
    HTML entities in texts without ``<`` are decoded, except in Markdown code (``unescape_html``); terminal
    escape sequences and control characters other than tab and line ends are removed; Latin ligatures become letters
    (``ﬁ`` -> ``fi``); lone surrogates become U+FFFD; the text is put in NFC (the lossless canonical
    form: ``e`` + combining accent -> ``é``; compatibility ideographs such as U+F900 become their unified
    ideograph). Full-width punctuation, letters and digits are kept (``width`` folds them), curly quotes
    are kept (Chinese uses “”; ``uncurl_quotes``), line ends are kept (``line_breaks``). Idempotent.
    Needs ``datamill[clean]``.

    ``normalization`` is NFC by default (lossless, keeps full-width forms); NFKC also folds them.
    """

    name: ClassVar[str] = "fix_unicode"
    Params = FixUnicodeParams
    version: ClassVar[str] = "3"
    cleans_tool_arguments: ClassVar[bool] = True

    def setup(self) -> None:
        ftfy: Any = require("ftfy", "clean", "fix_unicode")
        p = self.params
        self._config = ftfy.TextFixerConfig(
            unescape_html="auto" if p.unescape_html else False,
            normalization=p.normalization,
            uncurl_quotes=p.uncurl_quotes,
            fix_character_width=p.width,
            fix_line_breaks=p.line_breaks,
            explain=False,
        )
        # Markdown code shows entities on purpose (`&amp;` in a tutorial): everything but the decoding
        self._code_config = self._config._replace(unescape_html=False)
        self._fix = ftfy.fix_text
        #: ASCII control characters the configuration leaves alone (the fast path skips texts with only these)
        self._harmless = "\t\n" if p.line_breaks else "\t\n\r"

    def clean(self, text: str) -> str:
        if not hasattr(self, "_fix"):
            self.setup()
        if text.isascii() and "&" not in text and not any(c < " " and c not in self._harmless for c in text):
            return text
        if "&" in text and ("`" in text or "~" in text):
            parts, pos = [], 0
            for start, end in protected_spans(text, (CODE,)):
                parts += [self._fix(text[pos:start], config=self._config) if start > pos else "",
                          self._fix(text[start:end], config=self._code_config)]
                pos = end
            parts.append(self._fix(text[pos:], config=self._config) if pos < len(text) else "")
            return "".join(parts)
        out: str = self._fix(text, config=self._config)
        return out
