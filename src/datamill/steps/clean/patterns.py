"""Finders for URLs, e-mails, phone numbers and personal identifiers, shared by ``remove_patterns`` and
``mask_pii``, with the validators that keep false positives down (Luhn for card numbers, the GB 11643
check digit for Chinese ID cards, octet ranges for IPv4).

Boundaries are ASCII-aware, not ``\\b``: in Python's Unicode regexes a Chinese character is a word
character, so ``\\b`` finds no boundary in ``从https://...`` or ``电话13812345678`` and a match either is
missed or starts in the middle of the item. A URL ends where URLs written in text end: at whitespace, at
CJK text or full-width punctuation (``/downloads/下载安装`` ends before ``下``), and before trailing
sentence punctuation (``.``, ``,``, a ``)`` that does not close a ``(`` of the URL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from datamill.steps.clean.spans import CJK_TEXT

#: Digits may not touch other digits, ASCII letters or a decimal point, so numbers in arithmetic and
#: inside identifiers are never matched; CJK text around them is a boundary.
_NB = r"(?<![A-Za-z0-9_.])"
_NA = r"(?![A-Za-z0-9_]|\.\d)"

#: What a URL written in running text never contains: whitespace, quotes and angle brackets, CJK text and
#: full-width punctuation, typographic quotes, dashes and ellipses.
_URL_STOP = rf"\s<>\"'`{CJK_TEXT}\u2013\u2014\u2018-\u201f\u2026"
URL = re.compile(rf"(?<![A-Za-z0-9_@.\-/])(?:(?:https?|ftp)://|www\.)[^{_URL_STOP}]+", re.IGNORECASE)
#: A URL wherever it starts (``a2024https://...`` too), for steps that leave URLs alone: what comes before
#: it cannot change whether it is protected, so rewriting that text keeps the step idempotent.
URL_SPAN = re.compile(rf"(?:(?:https?|ftp)://|www\.)[^{_URL_STOP}]+", re.IGNORECASE)
# a local part never starts with a dot (RFC 5322 dot-atom): otherwise removing one address of
# "a@b.co.a@b.co" would leave ".a@b.co", an address the next pass removes (not idempotent)
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9_%+\-][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
                   r"\.[A-Za-z]{2,}(?![A-Za-z0-9\-])")
#: Arithmetic operators: a digit group joined to another number by one of them is a term of a sum, not a
#: phone number.
_OPS = r"-+*/=×÷^<>"
#: A phone number is not a term of an arithmetic expression: not preceded by ``<<`` (a GSM8K calculator
#: annotation) or by a number and an operator (``6000-600-150-1200-2000``, ``1+555-123-4567``), nor
#: followed by ``>>``, ``=``, an operator and a number (``*2``, ``/5``) or a chain of more hyphenated numbers
#: (``-20-3``). A single trailing ``-801`` (an extension) and ``<`` or ``>`` next to letters (``<td>``) are
#: allowed.
_PHONE_NB = rf"(?<!<<)(?<!\d[{_OPS}])"
_PHONE_NA = rf"(?!>>|=|[+*/×÷^<>]\d|-\d+[{_OPS}])"
PHONE = re.compile(
    _NB + _PHONE_NB + r"(?:"
    r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}"  # Chinese mobile
    r"|0\d{2,3}-\d{7,8}"  # Chinese landline with area code
    r"|\+\d{1,3}[- ]?\(?\d{1,4}\)?(?:[- ]?\d{2,4}){2,4}"  # international
    r"|\(\d{3}\) ?\d{3}-\d{4}|(?:1-)?\d{3}-\d{3}-\d{4}"  # North American (1-800-...)
    r")" + _NA + _PHONE_NA
)
ID_CARD = re.compile(_NB + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _NA)
IPV4 = re.compile(_NB + r"(?:\d{1,3}\.){3}\d{1,3}" + _NA)
IPV6 = re.compile(r"(?<![A-Za-z0-9_:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![A-Za-z0-9_:])")
CREDIT_CARD = re.compile(_NB + r"\d{4}(?:[- ]?\d{4}){2}[- ]?\d{1,7}" + _NA)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_TRAILING = ".,;:!?*"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def valid_id_card(s: str) -> bool:
    """GB 11643-1999 check digit of an 18-character Chinese resident ID."""
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == s[17].upper()


def valid_luhn(s: str) -> bool:
    digits = [int(c) for c in s if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def valid_ipv4(s: str) -> bool:
    return all(0 <= int(p) <= 255 and (p == "0" or not p.startswith("0")) for p in s.split("."))


def public_ipv4(s: str) -> bool:
    """A valid IPv4 address that can point at someone: not a private, loopback, link-local, multicast,
    reserved or unspecified address (``192.168.0.1`` in a router tutorial), and not a netmask
    (``255.255.255.0``)."""
    import ipaddress

    if not valid_ipv4(s):
        return False
    address = ipaddress.IPv4Address(".".join(str(int(part)) for part in s.split(".")))  # any Unicode digits
    bits = f"{int(address):032b}"
    netmask = "01" not in bits and bits.startswith("1")
    return not (netmask or address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_reserved or address.is_unspecified)


def trim_url(url: str) -> str:
    """``url`` without the sentence punctuation that follows it in text: ``.``, ``,``, ``!``... and a closing
    bracket that has no opening one inside the URL (``(see https://a.org/x)``; ``.../Python_(language)``
    keeps its own)."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _PAIRS and url.count(_PAIRS[last]) < url.count(last)):
            url = url[:-1]
        else:
            break
    host = url.split("//", 1)[1] if "//" in url else url[4:]  # after the scheme, or after "www."
    return url if host[:1].isalnum() else ""


@dataclass(frozen=True, slots=True)
class Finder:
    """A pattern, with an optional ``trim`` of each match and a ``valid`` check (check digits)."""

    pattern: re.Pattern[str]
    valid: Callable[[str], bool] | None = None
    trim: Callable[[str], str] | None = None

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of every valid match, in order."""
        for m in self.pattern.finditer(text):
            found = m.group(0)
            if self.trim is not None:
                found = self.trim(found)
            if found and (self.valid is None or self.valid(found)):
                yield m.start(), m.start() + len(found)

    def sub(self, text: str, replacement: Callable[[str], str]) -> str:
        """Every valid match replaced by ``replacement(match)``."""
        out: list[str] = []
        pos = 0
        for start, end in self.spans(text):
            out.append(text[pos:start])
            out.append(replacement(text[start:end]))
            pos = end
        if not out:
            return text
        out.append(text[pos:])
        return "".join(out)


URL_FINDER = Finder(URL, trim=trim_url)

#: type -> finder, in the order they are applied (longest/most specific first).
PII: dict[str, Finder] = {
    "EMAIL": Finder(EMAIL),
    "URL": URL_FINDER,
    "ID_CARD": Finder(ID_CARD, valid_id_card),
    "CREDIT_CARD": Finder(CREDIT_CARD, valid_luhn),
    "IP": Finder(IPV4, public_ipv4),
    "IPV6": Finder(IPV6),
    "PHONE": Finder(PHONE),
}
