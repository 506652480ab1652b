"""The ``mask_pii`` step: replace personal data by typed placeholders (``<EMAIL>``, ``<PHONE>``...)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.patterns import PII, substitute

PiiType = Literal["EMAIL", "URL", "ID_CARD", "CREDIT_CARD", "IP", "IPV6", "PHONE"]
DEFAULT_TYPES: tuple[PiiType, ...] = ("EMAIL", "ID_CARD", "CREDIT_CARD", "IP", "IPV6", "PHONE")


class MaskPiiParams(CleanParams):
    types: list[PiiType] = Field(
        default=list(DEFAULT_TYPES),
        description="what to mask: EMAIL, ID_CARD (Chinese resident ID, check digit verified), CREDIT_CARD "
        "(Luhn verified), IP, IPV6, PHONE (Chinese mobile/landline, international, North American), URL "
        "(off by default: URLs are rarely personal)",
    )
    placeholder: str = Field(default="<{type}>", description="replacement; {type} is the type name "
                                                              "(IPV6 is written as IP)")


class MaskPii(CleanStep[MaskPiiParams]):
    """Replace e-mails, phone numbers, ID card numbers, IP addresses and card numbers by typed placeholders.

    Acts on ``on`` (default ``all``: a prompt leaks as easily as an answer). Types are applied in a
    fixed order (e-mail, URL, ID card, card, IP, phone) so a longer match wins over a shorter one
    inside it. Numbers are only matched when they do not touch other digits or a decimal point, and ID
    and card numbers must pass their check digits, so arithmetic like ``13106370406846502.32`` is never
    masked. The placeholders never match again: idempotent.

    ``types`` lists what is masked (URLs are off by default: rarely personal); ``placeholder`` is the
    replacement, ``{type}`` naming the type.
    """

    name: ClassVar[str] = "mask_pii"
    Params = MaskPiiParams

    def clean(self, text: str) -> str:
        for kind, (pattern, valid) in PII.items():
            if kind in self.params.types:
                label = "IP" if kind == "IPV6" else kind
                text = substitute(pattern, text, self.params.placeholder.format(type=label), valid)
        return text
