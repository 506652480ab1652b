"""The ``html_to_text`` step: HTML pages or fragments to plain text with a real extractor."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from datamill.errors import require
from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.spans import CODE, protected_spans

_TAGS = (r"html|head|body|div|p|br|span|a|table|tr|td|th|li|ul|ol|dl|dt|dd|h[1-6]|script|style|img|b|i|u|em|"
         r"strong|section|article|blockquote|pre|code|hr|font|center|nav|header|footer")
#: A text "looks like HTML" when, outside Markdown code, it has markup a person would not write by accident:
#: a document tag, a closing tag, an empty element (<br>, <img ...>) or a bare opening tag (<p>). A lone "<b"
#: is not enough: "若 a<b 且 b>c" is math, and `<b>粗体</b>` in inline code is an example. Entities alone
#: (&amp;) are not HTML either: fix_unicode decodes them (decoding "&lt;br&gt;" here would make a tag that
#: a second run would then remove).
HTML_SIGNS = (
    re.compile(r"<!doctype\s+html|<(?:html|head|body)[\s>]", re.IGNORECASE),
    re.compile(rf"</(?:{_TAGS})\s*>", re.IGNORECASE),
    re.compile(r"<(?:br|hr|img|meta|link|input)(?:\s[^<>]*)?/?>", re.IGNORECASE),
    re.compile(rf"<(?:{_TAGS})>", re.IGNORECASE),
)


#: One tag, comment or doctype, for measuring how much of a text is markup.
TAG = re.compile(rf"<!doctype[^<>]*>|<!--.*?-->|</?(?:{_TAGS}|meta|link|input|title)(?:\s[^<>]*)?/?>",
                 re.IGNORECASE | re.DOTALL)
#: A tag named in quotes ("<br>", “<p>”, 「<div>」) is talked about, not markup.
_QUOTED_TAG = re.compile(r"""["'“‘「『《]\s*</?[A-Za-z!][^<>\n]*>\s*["'”’」』》]""")
#: Embedded tags make up at least this share of the visible characters of a text written with tags inline.
MARKUP_SHARE = 0.1


def looks_like_html(text: str) -> bool:
    """True for an HTML document or fragment; False for prose that mentions a few tags.

    Outside Markdown code and quoted tag names, the text needs an HTML sign (:data:`HTML_SIGNS`) and one
    of: it starts with a doctype or ``<html``; a line of it starts and ends with a tag and holds at least
    two (``<p>Hello <b>world</b></p>``, ``<ul><li>a</li></ul>``); or it has three tags or more embedded
    in words (touching a letter, digit or Han character: ``a<br>b<br>c``, ``x <b>bold</b> y``) that make
    up :data:`MARKUP_SHARE` of its visible characters or more. A tag set off by spaces or punctuation is
    named, not used: ``比如 <html> 和 </html>，前者...``, ``<head> 标签、<body> 标签``, ``Use <b> for
    bold and </b> to end it`` are prose.
    """
    if "<" not in text:
        return False
    prose = _without_code(text) if "`" in text or "~" in text else text
    prose = _QUOTED_TAG.sub(" ", prose)
    if not any(sign.search(prose) for sign in HTML_SIGNS):
        return False
    if re.match(r"\s*<(?:!doctype|html[\s>])", prose, re.IGNORECASE):
        return True
    for line in prose.splitlines():
        line = line.strip()
        if line.startswith("<") and line.endswith(">") and TAG.match(line) and len(TAG.findall(line)) >= 2:
            return True
    embedded = [m[0] for m in TAG.finditer(prose) if _touches_word(prose, m.start(), m.end())]
    visible = len(prose) - sum(ch.isspace() for ch in prose)
    return len(embedded) >= 3 and sum(map(len, embedded)) >= MARKUP_SHARE * visible


def _touches_word(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())


def _without_code(text: str) -> str:
    parts, pos = [], 0
    for start, end in protected_spans(text, (CODE,)):
        parts.append(text[pos:start])
        parts.append(" ")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


#: Elements that never hold article text (selectolax extractor).
SKIP_TAGS = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form",
             "iframe", "button", "select", "head")
BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
              "blockquote", "pre", "table", "ul", "ol", "dd", "dt")


class HtmlParams(CleanParams):
    extractor: Literal["trafilatura", "selectolax"] = Field(
        default="trafilatura",
        description="trafilatura: main-content extraction (drops menus, ads, comments; F1 0.950 on the article "
        "benchmark); selectolax: every visible text, ~13x faster (F1 0.815 on whole pages, fine for fragments)",
    )
    only_if_html: bool = Field(
        default=True,
        description="leave texts that are not an HTML document or fragment unchanged (prose naming a few tags, "
        "tags in Markdown code or quotes; entities alone do not count, fix_unicode decodes them)",
    )
    fallback: bool = Field(
        default=True,
        description="when trafilatura finds no main content (a short fragment), use the selectolax text instead",
    )


#: marks the lines of a <pre> block while the rest of the text has its whitespace collapsed (private use)
_PRE = "\ue000"


def selectolax_text(html: str) -> str:
    """Visible text of ``html``: scripts, styles and navigation removed, one line per block element,
    whitespace collapsed except inside ``<pre>`` (code keeps its indentation)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for node in tree.css(",".join(SKIP_TAGS)):
        node.decompose()
    for node in tree.css("pre"):
        verbatim = node.text(deep=True, separator="", strip=False).strip("\n").split("\n")
        node.replace_with("\n" + "\n".join(_PRE + line for line in verbatim) + "\n")
    for node in tree.css(",".join(BLOCK_TAGS)):
        node.insert_after("\n")
    root = tree.body or tree.root
    if root is None:
        return ""
    text = root.text(separator="", strip=False)
    lines = [line[1:].rstrip() if line.startswith(_PRE) else " ".join(line.split()) for line in text.splitlines()
             if line.startswith(_PRE) or line.strip()]
    return "\n".join(lines).strip("\n")


def trafilatura_text(html: str) -> str:
    trafilatura: Any = require("trafilatura", "clean", "html_to_text (extractor: trafilatura)")
    out = trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=False,
                              deduplicate=False, fast=False)
    return out or ""


class HtmlToText(CleanStep[HtmlParams]):
    """Turn HTML into plain text: main-content extraction (trafilatura) or all visible text (selectolax).

    Acts on ``on`` (default ``all``). What changes by default: an HTML document or fragment (see
    :func:`looks_like_html`: markup outside Markdown code and quotes, as a document, a line of tags or
    tags embedded in words) becomes its main text, one line per block; every other text is left
    unchanged (``若 a<b 且 b>c``, `` `<b>x</b>` `` in inline code, ``&amp;`` alone, prose that names a
    few tags: ``比如 <html> 和 </html>，…``), so the step is safe on mixed data and idempotent. An answer
    that is HTML ("write an HTML table") is converted too: leave such data out of ``on``. The extracted text
    keeps its characters (full-width punctuation, quotes, emoji); whitespace inside blocks is collapsed.
    trafilatura is the default because it scores best against the ground truth of the article extraction
    benchmark (token F1 0.950 vs 0.815, docs/cleaning.md); it drops navigation, ads and comments. For
    short fragments where it finds no "article" (``<p>hi</p>``) the selectolax text is used
    (``fallback``). Needs ``datamill[clean]``.

    ``extractor`` is trafilatura (main content) or selectolax (every visible text, ~13x faster);
    ``only_if_html`` (default) leaves texts without HTML markup unchanged.
    """

    name: ClassVar[str] = "html_to_text"
    Params = HtmlParams
    version: ClassVar[str] = "2"

    def setup(self) -> None:
        require("selectolax", "clean", "html_to_text")
        if self.params.extractor == "trafilatura":
            require("trafilatura", "clean", "html_to_text (extractor: trafilatura)")

    def clean(self, text: str) -> str:
        if self.params.only_if_html and not looks_like_html(text):
            return text
        if self.params.extractor == "selectolax":
            return selectolax_text(text)
        out = trafilatura_text(text)
        if not out and self.params.fallback:
            out = selectolax_text(text)
        return out
