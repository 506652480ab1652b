"""The ``remove_patterns`` step: remove URLs, e-mails, phone numbers, and ad or boilerplate lines."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.patterns import EMAIL, PHONE, URL

BUILTIN = {"urls": URL, "emails": EMAIL, "phones": PHONE}
#: Lines that are advertising or page furniture rather than content (zh + en), matched at line start.
DEFAULT_LINE_PATTERNS: tuple[str, ...] = (
    r"^\s*(?:关注(?:我们|公众号)|扫码|扫描二维码|长按(?:识别)?二维码|点击(?:这里|链接|下方|阅读原文)|"
    r"转载请注明|版权所有|未经(?:许可|授权)|本文来源|免责声明|广告|推广|更多精彩|责任编辑)",
    r"^\s*(?:advertisement|sponsored|click here|subscribe (?:now|to)|sign up for|share (?:this|on)|"
    r"all rights reserved|copyright\s*(?:©|\(c\))|cookie policy|read more\s*$)",
)
_MULTI_SPACE = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+(?=[，。！？；：,.!?;:])")


class RemoveParams(CleanParams):
    remove: list[Literal["urls", "emails", "phones"]] = Field(
        default=["urls", "emails", "phones"], description="built-in spans to delete"
    )
    patterns: list[str] = Field(default=[], description="extra regular expressions whose matches are deleted")
    line_patterns: list[str] = Field(
        default=list(DEFAULT_LINE_PATTERNS),
        description="regular expressions (searched per line, case-insensitive) whose lines are deleted; "
        "the default catches common zh/en ad and boilerplate lines ('扫码关注', '版权所有', 'Click here'...)",
    )

    @field_validator("patterns", "line_patterns")
    @classmethod
    def _compile(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
        return v


class RemovePatterns(CleanStep[RemoveParams]):
    """Delete URLs, e-mail addresses, phone numbers and text matching ``patterns``; delete whole lines
    matching ``line_patterns`` (ads, "关注公众号", "All rights reserved"...).

    Acts on ``on`` (default ``all``). Use ``mask_pii`` instead to keep a typed placeholder where the
    position of the removed item matters to the text. Spaces left doubled by a removal are collapsed,
    so the step is idempotent. Phone numbers never match inside longer numbers (``13106370406846502``).

    ``remove`` names the built-in spans to delete (urls, emails, phones by default).
    """

    name: ClassVar[str] = "remove_patterns"
    Params = RemoveParams

    def setup(self) -> None:
        self._spans = [BUILTIN[k] for k in self.params.remove] + [re.compile(p) for p in self.params.patterns]
        self._lines = [re.compile(p, re.IGNORECASE) for p in self.params.line_patterns]

    def clean(self, text: str) -> str:
        if not hasattr(self, "_spans"):
            self.setup()
        changed = False
        for pattern in self._spans:
            text, n = pattern.subn("", text)
            changed = changed or n > 0
        if changed:
            text = _SPACE_BEFORE_PUNCT.sub("", _MULTI_SPACE.sub(" ", text))
            text = "\n".join(line.rstrip() for line in text.split("\n"))
        # whole-line patterns last, on the lines as the span removals left them (idempotent)
        if self._lines:
            text = "\n".join(line for line in text.split("\n") if not any(p.search(line) for p in self._lines))
        return text
