"""The ``remove_patterns`` step: remove URLs, e-mails, phone numbers, and ad or boilerplate lines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.patterns import EMAIL, PHONE, URL_FINDER, Finder

BUILTIN: dict[str, Finder] = {"urls": URL_FINDER, "emails": Finder(EMAIL), "phones": Finder(PHONE)}
#: Lines that are advertising or page furniture rather than content (zh + en), matched at line start.
#: Each alternative names the furniture itself ("扫码关注", "版权所有", "All rights reserved"), not a word
#: that content also starts with ("广告法规定...", "推广普通话", "Advertisement is a form of...").
DEFAULT_LINE_PATTERNS: tuple[str, ...] = (
    r"^\s*(?:(?:请|欢迎)?关注(?:我们的?)?(?:微信)?公众号|关注我们\s*$|扫码(?:关注|添加|加入|进群|领取|下载|购买)"
    r"|扫描(?:下方|上方)?二维码|长按(?:识别)?二维码|点击(?:阅读原文|这里(?:查看|阅读|下载|关注|购买)"
    r"|链接(?:查看|阅读|下载|购买)|下方(?:链接|卡片|小程序))|转载请注明|版权所有(?![者人权])"
    r"|未经(?:许可|授权)[，,]?\s*(?:不得|禁止|严禁|请勿)(?:转载|复制|使用)|(?:本文|文章|图片)来源\s*[:：]"
    r"|免责声明\s*(?:[:：]|$)|广告\s*(?:[:：]|$)|[【\[(（](?:广告|推广|赞助)[】\])）]|推广\s*[:：]"
    r"|更多精彩(?:内容)?[，,]?\s*(?:请|敬请)?(?:关注|点击|访问)|责任编辑\s*[:：])",
    r"^\s*(?:advertisement\s*$|sponsored(?:\s+(?:content|post|links?))?\s*:?\s*$|sponsored by\b"
    r"|click here(?: to| for)? (?:subscribe|read more|download|learn more|sign up|register|buy|order)"
    r"|subscribe (?:now|to (?:our|my|the) (?:newsletter|channel|blog|podcast))"
    r"|sign up (?:for (?:our|my|the) newsletter|now|today)"
    r"|share (?:this (?:article|post|story|page)|on (?:facebook|twitter|linkedin|reddit|whatsapp|weibo|wechat))"
    r"|all rights reserved|copyright\s*(?:©|\(c\))|cookie policy|read more\s*$)",
)
#: ``[text](url)`` and ``![alt](url)`` (an optional title after the URL); the URL may hold one level of ().
MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*<?([^()\s<>]+(?:\([^()\s]*\)[^()\s<>]*)*)>?(?:\s+\"[^\"\n]*\")?\s*\)")
_SPACES = " \t"
#: Punctuation that a removed item may leave a space in front of ("see https://x.org/ ." -> "see.").
_CLOSERS = frozenset("，。！？；：、,.!?;:)）]】」』")


def delete_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` without the given sorted spans, tidied only where a span was: a space left doubled, or in
    front of punctuation, goes; a line that held nothing but removed items goes. ``<url>`` goes with its
    angle brackets. Spaces and lines elsewhere are never touched."""
    out: list[str] = []
    pos = 0
    removed = False
    for start, end in spans:
        if start < pos:
            continue
        if start > 0 and end < len(text) and text[start - 1] == "<" and text[end] == ">":
            start, end = start - 1, end + 1
        out.append(text[pos:start])
        pos = end
        removed = True
        acc = "".join(out)
        line_start = acc.rfind("\n") + 1
        nxt = text[pos] if pos < len(text) else "\n"
        if acc[line_start:].strip(_SPACES) == "":
            # nothing before it on its line: drop the spaces after it, and the line if it is now empty
            while pos < len(text) and text[pos] in _SPACES:
                pos += 1
            if pos == len(text) or text[pos] == "\n":
                acc = acc[:line_start]
                if pos < len(text):
                    pos += 1
                elif acc.endswith("\n"):
                    acc = acc[:-1]
        elif acc.endswith(tuple(_SPACES)) and (nxt in _SPACES or nxt == "\n" or nxt in _CLOSERS):
            acc = acc.rstrip(_SPACES)
        out = [acc]
    if not removed:
        return text
    out.append(text[pos:])
    return "".join(out)


class RemoveParams(CleanParams):
    remove: list[Literal["urls", "emails", "phones"]] = Field(
        default=["urls", "emails", "phones"], description="built-in spans to delete"
    )
    patterns: list[str] = Field(default=[], description="extra regular expressions whose matches are deleted")
    line_patterns: list[str] = Field(
        default=list(DEFAULT_LINE_PATTERNS),
        description="regular expressions (searched per line, case-insensitive) whose lines are deleted; "
        "the default catches common zh/en ad and boilerplate lines ('扫码关注', '版权所有', 'All rights "
        "reserved'...); [] turns line removal off",
    )
    line_max_chars: int | None = Field(
        default=200, ge=1,
        description="only lines up to this many characters are deleted by line_patterns (furniture is short; "
        "a paragraph that starts with the same words is content); null: any length",
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
    matching ``line_patterns`` (ads, "扫码关注公众号", "All rights reserved"...).

    Acts on ``on`` (default ``all``), and on the string values of the tool-call arguments of the turns it
    selects (JSON text stays valid). What changes by default, and nothing else: each URL, e-mail address
    and phone number is deleted (a Markdown link ``[text](url)`` becomes ``text``); a space that the
    deletion leaves doubled or in front of punctuation goes, and a line left empty goes; short lines
    (``line_max_chars``) that start with ad or boilerplate wording go. A URL ends at whitespace, CJK
    text, full-width punctuation and trailing sentence punctuation (``官网 https://python.org/下载`` ->
    ``官网 下载``); numbers never match inside longer numbers (``13106370406846502``) nor as terms of arithmetic
    (``<<6000-600-150-1200-2000=2050>>``). Use ``mask_pii``
    to keep a typed placeholder where the position of the removed item matters. Notes ``lines_removed``.
    Idempotent.

    ``remove`` names the built-in spans to delete (urls, emails, phones by default).
    """

    name: ClassVar[str] = "remove_patterns"
    Params = RemoveParams
    version: ClassVar[str] = "3"
    cleans_tool_arguments: ClassVar[bool] = True

    def setup(self) -> None:
        self._spans = [BUILTIN[k] for k in self.params.remove] + [Finder(re.compile(p))
                                                                   for p in self.params.patterns]
        self._lines = [re.compile(p, re.IGNORECASE) for p in self.params.line_patterns]

    def clean(self, text: str) -> str:
        if not hasattr(self, "_spans"):
            self.setup()
        if "urls" in self.params.remove and "](" in text:
            text = MD_LINK.sub(lambda m: m[1] if _is_url(m[2]) else m[0], text)
        for finder in self._spans:
            text = delete_spans(text, list(finder.spans(text)))
        # whole-line patterns last, on the lines as the span removals left them (idempotent)
        if self._lines:
            limit = self.params.line_max_chars
            lines = text.split("\n")
            kept = [line for line in lines
                    if (limit is not None and len(line) > limit) or not any(p.search(line) for p in self._lines)]
            if len(kept) < len(lines):
                self.note("lines_removed", len(lines) - len(kept))
                text = "\n".join(kept)
        return text


def _is_url(target: str) -> bool:
    return any(start == 0 and end == len(target) for start, end in URL_FINDER.spans(target))
