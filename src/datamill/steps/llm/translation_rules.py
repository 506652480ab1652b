"""The ``translation_rules`` step: translation errors that rules can find without a judge.

Checks (each can be switched off): numbers, dates, currency, punctuation, untranslated spans,
placeholders/markup, glossary terms. Issues are written in the judge's shape
(``{"category", "severity", "span", "rule"}``) and scored the same way, so rule findings and
judge findings can be routed and compared together.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

from pydantic import Field

from datamill.records import Record, set_field
from datamill.selectors import FieldTarget, Name, read_text
from datamill.steps.base import Drop, Params, RowStep
from datamill.steps.llm.scoring import score_issues

Check = Literal["numbers", "dates", "currency", "punctuation", "untranslated", "placeholders", "glossary"]
ALL_CHECKS: tuple[Check, ...] = ("numbers", "dates", "currency", "punctuation", "untranslated", "placeholders",
                                 "glossary")

_NUMBER = re.compile(r"(?<![0-9A-Za-z_.])[-+]?(?:\d{1,3}(?:[,\u202f\u00a0]\d{3})+|\d+)(?:\.\d+)?(?![0-9A-Za-z_])")
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_CURRENCY = re.compile(r"(?i)[$€£¥￥₩₹]|\b(?:USD|EUR|GBP|CNY|RMB|JPY|HKD|dollars?|euros?|pounds?|yuan|renminbi|yen)\b"
                       r"|美元|欧元|英镑|人民币|日元|元")
_CURRENCY_NAMES = {"$": "USD", "美元": "USD", "€": "EUR", "欧元": "EUR", "£": "GBP", "英镑": "GBP",
                   "¥": "CNY/JPY", "￥": "CNY/JPY", "元": "CNY", "人民币": "CNY", "rmb": "CNY", "日元": "JPY",
                   "₩": "KRW", "₹": "INR",
                   "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "pound": "GBP",
                   "pounds": "GBP", "yuan": "CNY", "renminbi": "CNY", "yen": "JPY"}
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}|\{[A-Za-z0-9_]*\}|%(?:\d+\$)?[sdfi]|</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>"
                          r"|\$\{[^}]*\}")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+(?:[\s\u3000]*[\u3400-\u9fff\uf900-\ufaff]+)*")
_CJK_PUNCT = re.compile(r"[，。！？：；“”‘’（）【】、《》]")
_PAIRS = (("(", ")"), ("[", "]"), ("{", "}"), ("“", "”"), ("（", "）"))


def _numbers(text: str) -> Counter[str]:
    text = text.translate(str.maketrans("０１２３４５６７８９．，", "0123456789.,"))
    text = _DATE.sub(" ", text)
    out: Counter[str] = Counter()
    for m in _NUMBER.finditer(text):
        value = re.sub(r"[,\u202f\u00a0 ]", "", m.group(0)).lstrip("+")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        out[value] += 1
    return out


def _is_cjk(text: str) -> bool:
    return len(_CJK.findall(text)) > 0 and sum(len(s) for s in _CJK.findall(text)) > len(text) * 0.2


class RulesParams(Params):
    source: Name = Field(default="prompt", description="part or field path holding the source text")
    target: Name = Field(default="answer", description="part or field path holding the translation")
    checks: list[Check] = Field(default_factory=lambda: list(ALL_CHECKS), description="which checks run")
    glossary: dict[str, str] = Field(default_factory=dict, description="source term -> required target term")
    into: FieldTarget = Field(default="meta.rule_issues", description="field for the list of issues")
    score_field: FieldTarget | None = Field(default="scores.rules",
                                          description="field for the 0-100 score (None: off)")
    drop_with_issues: bool = Field(default=False, description="drop records that have any issue")


class TranslationRules(RowStep[RulesParams]):
    """Find rule-checkable translation errors (no model): numbers, dates and currencies that differ
    between source and target, CJK punctuation in a non-CJK target, unbalanced brackets, untranslated
    CJK spans, placeholders/markup (``{name}``, ``%s``, ``<b>``) lost or added, and glossary terms not
    used. Writes ``[{"category", "severity", "span", "rule"}]`` to ``into`` (the judge's shape) and a
    score with the judge's MQM weights; keeps every record unless ``drop_with_issues``.

    ``checks`` selects the checks that run (all by default); ``score_field`` is the field of the 0-100 score
    (``scores.rules``; null: off). ``source`` and ``target`` are parts or field paths.
    """

    name = "translation_rules"
    Params = RulesParams
    version = "1"
    reads = ("messages",)
    writes = ("meta.rule_issues", "scores.rules")

    def process(self, record: Record) -> Record | Drop:
        p = self.params
        source, target = read_text(record, p.source), read_text(record, p.target)
        issues = check_translation(source, target, p.checks, p.glossary)
        set_field(record, p.into, issues)
        if p.score_field:
            set_field(record, p.score_field, score_issues(issues))
        if issues and p.drop_with_issues:
            return Drop("translation_rule", {"issues": issues})
        return record


def _issue(category: str, severity: str, span: str, rule: str) -> dict[str, Any]:
    return {"category": category, "severity": severity, "span": span, "rule": rule}


def check_translation(source: str, target: str, checks: list[Check] | tuple[Check, ...] = ALL_CHECKS,
                      glossary: dict[str, str] | None = None) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    target_cjk = _is_cjk(target)
    if "numbers" in checks:
        src, tgt = _numbers(source), _numbers(target)
        for value in sorted((src - tgt).keys()):
            issues.append(_issue("accuracy", "major", value, "number_missing"))
        for value in sorted((tgt - src).keys()):
            issues.append(_issue("accuracy", "major", value, "number_added"))
    if "dates" in checks:
        sd = {tuple(int(x) for x in m.groups()) for m in _DATE.finditer(source)}
        td = {tuple(int(x) for x in m.groups()) for m in _DATE.finditer(target)}
        for d in sorted(sd - td) if td else []:
            issues.append(_issue("locale", "major", "-".join(map(str, d)), "date_mismatch"))
    if "currency" in checks:
        sc = Counter(_CURRENCY_NAMES.get(m.group(0).lower(), m.group(0)) for m in _CURRENCY.finditer(source))
        tc = Counter(_CURRENCY_NAMES.get(m.group(0).lower(), m.group(0)) for m in _CURRENCY.finditer(target))
        if sc and tc and set(sc) != set(tc) and not (set(sc) & set(tc)):
            issues.append(_issue("locale", "major", ",".join(sorted(tc)), "currency_mismatch"))
        elif sc and not tc and _numbers(source):
            issues.append(_issue("accuracy", "major", ",".join(sorted(sc)), "currency_missing"))
    if "punctuation" in checks:
        if not target_cjk:
            for m in _CJK_PUNCT.finditer(target):
                issues.append(_issue("fluency", "minor", m.group(0), "cjk_punctuation"))
        for left, right in _PAIRS:
            if target.count(left) != target.count(right) and source.count(left) == source.count(right):
                issues.append(_issue("fluency", "minor", left + right, "unbalanced_brackets"))
    if "untranslated" in checks and not target_cjk and _is_cjk(source):
        for m in _CJK.finditer(target):
            issues.append(_issue("accuracy", "major", m.group(0), "untranslated"))
    if "placeholders" in checks:
        sp, tp = Counter(_PLACEHOLDER.findall(source)), Counter(_PLACEHOLDER.findall(target))
        for ph in sorted((sp - tp).keys()):
            issues.append(_issue("accuracy", "major", ph, "placeholder_missing"))
        for ph in sorted((tp - sp).keys()):
            issues.append(_issue("accuracy", "minor", ph, "placeholder_added"))
    if "glossary" in checks:
        for term, required in (glossary or {}).items():
            if term.lower() in source.lower() and required.lower() not in target.lower():
                issues.append(_issue("terminology", "major", term, "glossary"))
    return issues
