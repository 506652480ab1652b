"""Regular expressions for URLs, e-mails, phone numbers and personal identifiers, shared by
``remove_patterns`` and ``mask_pii``, with the validators that keep false positives down
(Luhn for card numbers, the GB 11643 check digit for Chinese ID cards, octet ranges for IPv4)."""

from __future__ import annotations

import re
from collections.abc import Callable

#: Digits may not touch other digits or a decimal point, so numbers in arithmetic are never matched.
_NB = r"(?<![\w.])"
_NA = r"(?![\w]|\.\d)"

URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"'，。！？、；：（）【】]+(?<![.,;:!?)])", re.IGNORECASE)
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
PHONE = re.compile(
    _NB + r"(?:"
    r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}"  # Chinese mobile
    r"|0\d{2,3}-\d{7,8}"  # Chinese landline with area code
    r"|\+\d{1,3}[- ]?\(?\d{1,4}\)?(?:[- ]?\d{2,4}){2,4}"  # international
    r"|\(\d{3}\) ?\d{3}-\d{4}|\d{3}-\d{3}-\d{4}"  # North American
    r")" + _NA
)
ID_CARD = re.compile(_NB + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _NA)
IPV4 = re.compile(_NB + r"(?:\d{1,3}\.){3}\d{1,3}" + _NA)
IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])")
CREDIT_CARD = re.compile(_NB + r"\d{4}(?:[- ]?\d{4}){2}[- ]?\d{1,7}" + _NA)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


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


#: type -> (pattern, validator or None), in the order they are applied (longest/most specific first).
PII: dict[str, tuple[re.Pattern[str], Callable[[str], bool] | None]] = {
    "EMAIL": (EMAIL, None),
    "URL": (URL, None),
    "ID_CARD": (ID_CARD, valid_id_card),
    "CREDIT_CARD": (CREDIT_CARD, valid_luhn),
    "IP": (IPV4, valid_ipv4),
    "IPV6": (IPV6, None),
    "PHONE": (PHONE, None),
}


def substitute(pattern: re.Pattern[str], text: str, replacement: str,
               valid: Callable[[str], bool] | None = None) -> str:
    """``pattern.sub(replacement, text)``, skipping matches the validator rejects."""
    if valid is None:
        return pattern.sub(replacement.replace("\\", "\\\\"), text)
    return pattern.sub(lambda m: replacement if valid(m.group(0)) else m.group(0), text)
