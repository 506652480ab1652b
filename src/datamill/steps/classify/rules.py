"""Classification rules: one category per rule, its conditions, and how a record is matched.

A rule matches when **all** of its conditions hold:

* ``regex``: a regular expression (or a list: any of them) searched in the rule's text (``on``);
* ``keywords``: words or phrases, any of which must occur (case-insensitive);
* ``all_keywords``: words or phrases that must all occur;
* ``when``: a safe expression over the record's fields (``datamill.expr``), e.g. ``meta.source == 'x'``.

A rule with no condition matches every record (a catch-all before the default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datamill.errors import RecipeError
from datamill.expr import Expr, ExprEvalError, compile_expr
from datamill.records import Record
from datamill.selectors import On, Selector, texts


class Rule(BaseModel):
    """One rule of a classifier, as written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(min_length=1, description="the category (or tag) this rule assigns")
    regex: str | list[str] | None = Field(default=None, description="regular expression(s) searched; any matches")
    keywords: list[str] | None = Field(default=None, description="any of these occurs (case-insensitive)")
    all_keywords: list[str] | None = Field(default=None, description="all of these occur (case-insensitive)")
    when: str | None = Field(default=None, description="safe expression over fields, e.g. \"meta.src == 'a'\"")
    on: Selector | None = Field(default=None, description="text the regex/keywords look at (default: the step's "
                                "'on')")

    @field_validator("regex")
    @classmethod
    def _regex(cls, v: str | list[str] | None) -> str | list[str] | None:
        for p in [v] if isinstance(v, str) else v or []:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
        return v

    @field_validator("when")
    @classmethod
    def _when(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                compile_expr(v)
            except RecipeError as exc:
                raise ValueError(exc.message) from None
        return v

    @model_validator(mode="after")
    def _keywords(self) -> Rule:
        for words in (self.keywords, self.all_keywords):
            if words is not None and (not words or any(not w for w in words)):
                raise ValueError("keyword lists must be non-empty and hold non-empty words")
        return self


@dataclass
class CompiledRule:
    category: str
    regexes: list[re.Pattern[str]]
    keywords: list[str]
    all_keywords: list[str]
    when: Expr | None
    on: On

    def matches(self, record: Record, cache: dict[str, str]) -> bool:
        if self.when is not None:
            try:
                if not self.when(record):
                    return False
            except ExprEvalError:
                return False
        if not (self.regexes or self.keywords or self.all_keywords):
            return True
        key = self.on if isinstance(self.on, str) else "\x1f".join(self.on)
        text = cache.get(key)
        if text is None:
            text = cache[key] = "\n".join(texts(record, self.on))
        if self.regexes and not any(r.search(text) for r in self.regexes):
            return False
        lowered = text.lower() if self.keywords or self.all_keywords else text
        if self.keywords and not any(k in lowered for k in self.keywords):
            return False
        return all(k in lowered for k in self.all_keywords)


def compile_rules(rules: list[Rule], default_on: On) -> list[CompiledRule]:
    out = []
    for rule in rules:
        regexes = [rule.regex] if isinstance(rule.regex, str) else list(rule.regex or [])
        out.append(CompiledRule(
            category=rule.category,
            regexes=[re.compile(p) for p in regexes],
            keywords=[k.lower() for k in rule.keywords or []],
            all_keywords=[k.lower() for k in rule.all_keywords or []],
            when=compile_expr(rule.when) if rule.when else None,
            on=rule.on if rule.on is not None else default_on,
        ))
    return out


def load_rules_file(path: str) -> list[Rule]:
    """Rules from a YAML file: a list of rules, or a mapping with a ``rules`` list."""
    data: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("rules")
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of rules (or a mapping with 'rules')")
    return [Rule.model_validate(r) for r in data]
