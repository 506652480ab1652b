"""The ``translation_rules`` step: translation errors that rules can find without a judge.

Checks: numbers, dates, currency, punctuation, untranslated spans, placeholders/markup, glossary terms.
Issues are written in the judge's shape (``{"category", "severity", "span", "rule"}``) and scored the
same way, so rule findings and judge findings can be routed and compared together. Which checks run by
default follows their measured precision on human MQM annotations (docs/llm.md, ``benchmarks/
bench_translation_rules.py``): a check is on by default only if the segments it flags are clearly more
often marked wrong by people, in the rule's way, than segments in general.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

from pydantic import Field

from datamill.records import Record, set_field
from datamill.selectors import FieldTarget, Name, read_text
from datamill.steps.base import Drop, Params, RowStep
from datamill.steps.llm.numbers import MONTHS, Mention, mentions, unit_systems, word_values
from datamill.steps.llm.scoring import score_issues

Check = Literal["numbers", "brackets", "cjk_punctuation", "untranslated", "dates", "currency", "placeholders",
                "glossary", "punctuation"]
ALL_CHECKS: tuple[Check, ...] = ("numbers", "brackets", "cjk_punctuation", "untranslated", "dates", "currency",
                                 "placeholders", "glossary")
#: on unless the recipe says otherwise: the checks whose precision was measured on human MQM annotations
#: (docs/llm.md); glossary does nothing without the recipe's glossary. The others never fired on that data,
#: so their precision is unknown: turn them on by name
DEFAULT_CHECKS: tuple[Check, ...] = ("numbers", "brackets", "glossary")
#: older names: punctuation = brackets + cjk_punctuation
_ALIASES: dict[str, tuple[Check, ...]] = {"punctuation": ("brackets", "cjk_punctuation")}
CJK_LANGS = ("zh", "ja", "ko", "yue", "wuu")

_ISO_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_ZH_DATE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_NAME_DAY = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.IGNORECASE)
_DAY_NAME = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|\.)?\s+(?:of\s+)?({_MONTH_NAMES})\b", re.IGNORECASE)
_CURRENCY = re.compile(r"(?i)[$€£¥￥₩₹]|\b(?:USD|EUR|GBP|CNY|RMB|JPY|HKD|dollars?|euros?|yuan|renminbi|yen)\b"
                       r"|美元|欧元|英镑|人民币|日元|(?<=[\d零一二两三四五六七八九十百千万亿])\s*元")
_CURRENCY_NAMES = {"$": "USD", "美元": "USD", "€": "EUR", "欧元": "EUR", "£": "GBP", "英镑": "GBP",
                   "¥": "CNY/JPY", "￥": "CNY/JPY", "元": "CNY", "人民币": "CNY", "rmb": "CNY", "日元": "JPY",
                   "₩": "KRW", "₹": "INR", "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR",
                   "yuan": "CNY", "renminbi": "CNY", "yen": "JPY"}
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}|\{[A-Za-z0-9_]*\}|%(?:\d+\$)?[sdfi]|</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>"
                          r"|\$\{[^}]*\}")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+(?:[\s\u3000]*[\u3400-\u9fff\uf900-\ufaff]+)*")
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ɏ]+")
#: full-width punctuation of Chinese/Japanese text; curly quotes are not in it (English and German use them)
_CJK_PUNCT = re.compile(r"[，。！？：；（）【】、《》「」『』〔〕]")


def is_cjk(text: str, lang: str | None = None) -> bool:
    """Whether ``text`` is Chinese/Japanese/Korean: by ``lang`` when known, else when it has at least as many
    CJK characters as Latin words (a Chinese title full of brand names is still Chinese; an English sentence
    with one untranslated term is not)."""
    if lang:
        return lang.lower().split("-")[0] in CJK_LANGS
    han = len(_HAN.findall(text))
    return han > 0 and han >= len(_LATIN_WORD.findall(text))


class RulesParams(Params):
    source: Name = Field(default="prompt", description="part or field path holding the source text")
    target: Name = Field(default="answer", description="part or field path holding the translation")
    source_lang: str | None = Field(default=None, description="language of the source (zh, en, de...); "
                                    "None: told from the script")
    target_lang: str | None = Field(default=None, description="language of the translation; None: told from "
                                    "the script (CJK when it has as many CJK characters as Latin words)")
    checks: list[Check] = Field(default_factory=lambda: list(DEFAULT_CHECKS),
                                description="which checks run: numbers, brackets, cjk_punctuation, untranslated, "
                                "dates, currency, placeholders, glossary (punctuation = brackets + "
                                "cjk_punctuation). Default: numbers, brackets and glossary, whose precision was "
                                "measured on human MQM annotations (docs/llm.md); the others never fired there")
    glossary: dict[str, str] = Field(default_factory=dict, description="source term -> required target term")
    into: FieldTarget = Field(default="meta.rule_issues", description="field for the list of issues")
    score_field: FieldTarget | None = Field(default="scores.rules",
                                          description="field for the 0-100 score (None: off)")
    drop_with_issues: bool = Field(default=False, description="drop records that have any issue")


class TranslationRules(RowStep[RulesParams]):
    """Find rule-checkable translation errors (no model) and write them in the judge's issue shape.

    On by default (``checks``), the ones whose precision was measured on human MQM annotations
    (docs/llm.md, ``benchmarks/bench_translation_rules.py``):

    * ``numbers``: a number of the source that the translation does not carry (``number_missing``), one it
      adds (``number_added``), or a measure whose number was kept but whose unit system changed (``200 feet``
      -> ``200 Meter``: ``unit_mismatch``). Numbers are compared by value across locales and scripts
      (``1,000`` = ``1.000``, ``1.5`` = ``1,5``, ``2 million`` = ``200万``, ``24th`` = ``24日``,
      ``November`` = ``11月``); a number written in words on the other side (``three``, ``三``,
      ``zehnmal``, ``fourteen billion``) excuses it, and so does a measure converted to the other unit
      system (``200 feet`` -> ``60 Meter``).
    * ``brackets``: brackets or quotes the source balances and the translation does not (German „...“ is a
      pair).
    * ``glossary``: a source term whose required translation is not used (only with ``glossary``).

    Off by default (they never fired on the MQM data, so their precision is unknown): ``cjk_punctuation``
    (full-width CJK punctuation in a non-CJK translation; the target's language from ``target_lang`` or its
    script), ``untranslated`` (CJK text left in a non-CJK translation of a CJK source), ``dates`` (a day and
    month of the source, ``11月24日`` / ``November 24`` / ``24. November`` / ISO, that the translation's dates
    do not hold), ``currency`` (symbols or names differing), ``placeholders`` (``{name}``, ``%s``, ``<b>``
    lost or added).

    Writes ``[{"category", "severity", "span", "rule"}]`` to ``into`` and a score with the judge's MQM
    weights to ``score_field`` (``scores.rules``; null: off); keeps every record unless ``drop_with_issues``.
    ``source`` and ``target`` are parts or field paths; ``source_lang``/``target_lang`` name the languages
    when the script would mislead.
    """

    name = "translation_rules"
    Params = RulesParams
    version = "2"
    reads = ("messages",)
    writes = ("meta.rule_issues", "scores.rules")

    def process(self, record: Record) -> Record | Drop:
        p = self.params
        source, target = read_text(record, p.source), read_text(record, p.target)
        issues = check_translation(source, target, p.checks, p.glossary, source_lang=p.source_lang,
                                   target_lang=p.target_lang)
        set_field(record, p.into, issues)
        if p.score_field:
            set_field(record, p.score_field, score_issues(issues))
        if issues and p.drop_with_issues:
            return Drop("translation_rule", {"issues": issues})
        return record


def _issue(category: str, severity: str, span: str, rule: str) -> dict[str, Any]:
    return {"category": category, "severity": severity, "span": span, "rule": rule}


def _number_issues(source: str, target: str) -> list[dict[str, Any]]:
    src, tgt = mentions(source), mentions(target)
    src_values = {v for m in src for v in m.values} | word_values(source)
    tgt_values = {v for m in tgt for v in m.values} | word_values(target)
    src_units, tgt_units = unit_systems(source), unit_systems(target)

    def converted(m: Mention, other_units: set[str]) -> bool:
        """A measure the other side gives in the other unit system only (200 feet, 60 Meter)."""
        return m.unit is not None and m.unit not in other_units and bool(other_units)

    issues = []
    for m in dict.fromkeys(src):  # the same number in the other unit system: a measure left unconverted
        if m.unit and any(t.unit and t.unit != m.unit and t.values & m.values for t in tgt):
            issues.append(_issue("accuracy", "major", m.text, "unit_mismatch"))
    for m in dict.fromkeys(m for m in src if not m.values & tgt_values and not converted(m, tgt_units)):
        issues.append(_issue("accuracy", "major", m.text, "number_missing"))
    for m in dict.fromkeys(m for m in tgt if not m.values & src_values and not converted(m, src_units)):
        issues.append(_issue("accuracy", "major", m.text, "number_added"))
    return issues


def _dates(text: str) -> set[tuple[int, int]]:
    """(month, day) of every date written with a day and a month."""
    out: set[tuple[int, int]] = set()
    for m in _ISO_DATE.finditer(text):
        out.add((int(m.group(2)), int(m.group(3))))
    for m in _ZH_DATE.finditer(text):
        out.add((int(m.group(1)), int(m.group(2))))
    for m in _NAME_DAY.finditer(text):
        out.add((MONTHS[m.group(1).lower()], int(m.group(2))))
    for m in _DAY_NAME.finditer(text):
        out.add((MONTHS[m.group(2).lower()], int(m.group(1))))
    return {(mo, d) for mo, d in out if 1 <= mo <= 12 and 1 <= d <= 31}


def _balanced_pairs(text: str) -> list[tuple[str, str]]:
    pairs = [("(", ")"), ("[", "]"), ("{", "}"), ("（", "）")]
    if "„" in text:
        pairs.append(("„", "“"))  # German: „...“
    else:
        pairs.append(("“", "”"))
    return pairs


def check_translation(source: str, target: str, checks: list[Check] | tuple[Check, ...] = DEFAULT_CHECKS,
                      glossary: dict[str, str] | None = None, *, source_lang: str | None = None,
                      target_lang: str | None = None) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    checks = tuple(c for check in checks for c in _ALIASES.get(check, (check,)))
    target_cjk = is_cjk(target, target_lang)
    if "numbers" in checks:
        issues.extend(_number_issues(source, target))
    if "dates" in checks:
        sd, td = _dates(source), _dates(target)
        for month, day in sorted(sd - td) if td else []:
            issues.append(_issue("locale", "major", f"{month:02d}-{day:02d}", "date_mismatch"))
    if "currency" in checks:
        sc = Counter(_CURRENCY_NAMES.get(m.group(0).strip().lower(), m.group(0).strip())
                     for m in _CURRENCY.finditer(source))
        tc = Counter(_CURRENCY_NAMES.get(m.group(0).strip().lower(), m.group(0).strip())
                     for m in _CURRENCY.finditer(target))
        if sc and tc and not (set(sc) & set(tc)):
            issues.append(_issue("locale", "major", ",".join(sorted(tc)), "currency_mismatch"))
        elif sc and not tc and mentions(source):
            issues.append(_issue("accuracy", "major", ",".join(sorted(sc)), "currency_missing"))
    if "cjk_punctuation" in checks and not target_cjk:
        for m in _CJK_PUNCT.finditer(target):
            issues.append(_issue("fluency", "minor", m.group(0), "cjk_punctuation"))
    if "brackets" in checks:
        source_pairs = {left: right for left, right in _balanced_pairs(source)}
        for left, right in _balanced_pairs(target):
            src_right = source_pairs.get(left, right)
            if target.count(left) != target.count(right) and source.count(left) == source.count(src_right):
                issues.append(_issue("fluency", "minor", left + right, "unbalanced_brackets"))
    if "untranslated" in checks and not target_cjk and is_cjk(source, source_lang):
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
