"""The ``mask_pii`` step: replace personal data by typed placeholders (``<EMAIL>``, ``<PHONE>``, ``<NAME>``...)."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from datamill.errors import RecipeError
from datamill.records import Record
from datamill.steps.base import Drop
from datamill.steps.clean.base import CleanParams, CleanStep
from datamill.steps.clean.patterns import PII, Finder

PiiType = Literal["EMAIL", "URL", "ID_CARD", "CREDIT_CARD", "IP", "IPV6", "PHONE"]
DEFAULT_TYPES: tuple[PiiType, ...] = ("EMAIL", "ID_CARD", "CREDIT_CARD", "IP", "IPV6", "PHONE")
#: Built-in types applied before the user's patterns and names (they contain names: zhang.san@x.com).
_FIRST = ("EMAIL", "URL")
_TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_ASCII_ALNUM = "A-Za-z0-9"


def _check_template(template: str, where: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"{where}: {exc} (write literal braces as {{{{ and }}}})") from None
    unknown = fields - {"type", "n"}
    if unknown:
        raise ValueError(f"{where}: unknown placeholder field(s) {sorted(unknown)}; use {{type}} and {{n}}")
    return template


class MaskPiiParams(CleanParams):
    types: list[PiiType] = Field(
        default=list(DEFAULT_TYPES),
        description="built-in types to mask: EMAIL, ID_CARD (Chinese resident ID, check digit verified), "
        "CREDIT_CARD (Luhn verified), IP (public addresses: not private, loopback, reserved or netmasks), IPV6, "
        "PHONE (Chinese mobile/landline, international, North "
        "American), URL (off by default: URLs are rarely personal)",
    )
    patterns: dict[str, str] = Field(
        default={},
        description="your own types: TYPE -> regular expression (EMPLOYEE_ID: 'EMP-\\d{6}'); masked after "
        "EMAIL/URL and before the other built-in types, in the order given",
    )
    names: list[str] = Field(default=[], description="exact names to mask as NAME (张三, Alice Smith); a "
                                                      "longer name wins over one it contains")
    names_file: str | None = Field(
        default=None,
        description="UTF-8 file with more names, one per line (blank lines and lines starting with # are "
        "skipped; a relative path is relative to the current directory); read when the recipe loads, its "
        "names count in the step's fingerprint",
    )
    placeholder: str = Field(
        default="<{type}>",
        description="replacement template: {type} is the type (IPV6 is written IP), {n} numbers the distinct "
        "values of a type within a record (<NAME_{n}>: the same person stays <NAME_1> in every turn)",
    )
    placeholders: dict[str, str] = Field(default={}, description="per-type templates that win over "
                                                                  "'placeholder' (NAME: '某人')")

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, v: dict[str, str]) -> dict[str, str]:
        for kind, pattern in v.items():
            if not _TYPE_NAME.fullmatch(kind):
                raise ValueError(f"type {kind!r} must be upper case letters, digits and _ (e.g. EMPLOYEE_ID)")
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{kind}: invalid regular expression {pattern!r}: {exc}") from None
            if compiled.fullmatch(""):
                raise ValueError(f"{kind}: the regular expression {pattern!r} matches the empty string")
        return v

    @field_validator("names")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        if any(not n.strip() for n in v):
            raise ValueError("names must not be empty")
        return v

    @field_validator("placeholder")
    @classmethod
    def _placeholder(cls, v: str) -> str:
        return _check_template(v, "placeholder")

    @field_validator("placeholders")
    @classmethod
    def _placeholders(cls, v: dict[str, str]) -> dict[str, str]:
        return {kind: _check_template(t, f"placeholders.{kind}") for kind, t in v.items()}


def _uses_n(template: str) -> bool:
    return any(name == "n" for _, name, _, _ in string.Formatter().parse(template))


def read_names(path: str) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"mask_pii: cannot read names_file {path!r}: {exc}", location="params.names_file",
                          hint="give a UTF-8 text file with one name per line") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def names_pattern(names: list[str]) -> re.Pattern[str]:
    """One pattern for every name, longest first. An edge of a name that is an ASCII letter or digit must
    not touch another ASCII letter or digit (``Ann`` is not in ``Annual``); a CJK edge needs no boundary
    (``张三说``), since Chinese has no spaces between words."""
    alternatives = []
    for name in sorted(set(names), key=lambda n: (-len(n), n)):
        before = f"(?<![{_ASCII_ALNUM}])" if name[0].isascii() and name[0].isalnum() else ""
        after = f"(?![{_ASCII_ALNUM}])" if name[-1].isascii() and name[-1].isalnum() else ""
        alternatives.append(before + re.escape(name) + after)
    return re.compile("|".join(alternatives))


class MaskPii(CleanStep[MaskPiiParams]):
    """Replace e-mails, phone numbers, ID card numbers, IP addresses, card numbers, your own patterns and
    listed names by placeholders (``<EMAIL>``, ``<PHONE>``, ``<NAME>``; templates of your choice).

    Acts on ``on`` (default ``all``: a prompt leaks as easily as an answer), and on the string values of
    the tool-call arguments of the turns it selects (JSON text stays valid). Order: e-mail and URL first
    (they contain names), then ``patterns`` in the order given, then ``names``, then ID card, card, IP,
    phone, so a longer match wins over a shorter one inside it. Numbers are only matched when they do not
    touch other digits, ASCII letters or a decimal point, and ID and card numbers must pass their check
    digits, so arithmetic like ``13106370406846502.32`` is never masked; Chinese text around an item is a
    boundary (``电话13812345678。`` -> ``电话<PHONE>。``). Nothing but the matches changes. The default
    placeholders never match again: idempotent.

    ``types`` lists the built-in types masked (URLs are off by default: rarely personal); ``names_file`` adds
    names from a file (one per line); ``placeholder`` is the replacement template (``{type}``, and ``{n}``
    numbering a type's distinct values within a record).
    """

    name: ClassVar[str] = "mask_pii"
    Params = MaskPiiParams
    version: ClassVar[str] = "4"  # "4": private, loopback, reserved addresses and netmasks are not PII
    cleans_tool_arguments: ClassVar[bool] = True

    def __init__(self, params: MaskPiiParams) -> None:
        if params.names_file:
            # the file's names become part of the params: the fingerprint follows the file's content, and the
            # workers that rebuild the step from its params need not read the file again
            names = list(dict.fromkeys([*params.names, *read_names(params.names_file)]))
            params = params.model_copy(update={"names": names, "names_file": None})
        super().__init__(params)
        self._seen: dict[str, dict[str, int]] = {}
        self.setup()

    def setup(self) -> None:
        p = self.params
        finders: list[tuple[str, Finder]] = [(k, PII[k]) for k in _FIRST if k in p.types]
        finders += [(kind, Finder(re.compile(pattern))) for kind, pattern in p.patterns.items()]
        if p.names:
            finders.append(("NAME", Finder(names_pattern(p.names))))
        finders += [(k, f) for k, f in PII.items() if k not in _FIRST and k in p.types]
        self._finders = finders

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_finders"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.setup()

    def process(self, record: Record) -> Record | Drop:
        self._seen = {}  # {n} numbers values per record
        return super().process(record)

    def placeholder(self, kind: str, value: str) -> str:
        label = "IP" if kind == "IPV6" else kind
        template = self.params.placeholders.get(label, self.params.placeholder)
        if _uses_n(template):
            seen = self._seen.setdefault(label, {})
            n = seen.setdefault(value, len(seen) + 1)
            return template.format(type=label, n=n)
        return template.format(type=label)

    def clean(self, text: str) -> str:
        for kind, finder in self._finders:
            text = finder.sub(text, lambda value, kind=kind: self.placeholder(kind, value))  # type: ignore[misc]
        return text
