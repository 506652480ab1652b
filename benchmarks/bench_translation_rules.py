"""Precision of each ``translation_rules`` check against human MQM annotations; prints Markdown tables
(results go in docs/llm.md).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_translation_rules.py [--corpora DIR] [--all]

Data: ../shared/corpora/7_wmt_mqm (google/wmt-mqm-human-evaluation, TED talks): ``mqm_ted_zhen.tsv`` (zh->en)
and ``mqm_ted_ende.tsv`` (en->de), one row per error span a professional rater marked (``<v>...</v>`` in the
target) with its category and severity, or one ``No-error`` row. Every (system, segment) pair has one rater.

Per segment: the translation without the ``<v>`` marks, the human categories, and the MQM penalty (Major 5,
Minor 1, Minor Fluency/Punctuation 0.1, Non-translation 25; the WMT weighting). Each check runs on every
segment (``--all``: every check, also those off by default) and for each rule the table gives

* fired: segments it flags;
* precision: the share of them a rater marked with an error of the rule's kind (numbers: Accuracy; dates and
  currency: Accuracy or Locale convention; brackets: Fluency/Punctuation or Accuracy/Omission (a dropped
  "(Laughter)" leaves a lone bracket); cjk_punctuation: Fluency/Punctuation; untranslated: Accuracy;
  placeholders: Accuracy, Fluency/Display or Other), next to the base rate of that kind over all segments;
* any error: the share of flagged segments with any human error;
* MQM flagged / not: the mean penalty of flagged and of the other segments (lower is better).

A rule earns its place when its precision is well above the base rate: it points at segments people also
found wrong in that way.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from datamill.steps.llm.translation_rules import ALL_CHECKS, DEFAULT_CHECKS, check_translation

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
PAIRS = {"zh-en": ("mqm_ted_zhen.tsv", "zh", "en"), "en-de": ("mqm_ted_ende.tsv", "en", "de")}
KINDS = {
    "number": ("Accuracy/",), "date": ("Accuracy/", "Locale convention/"),
    "currency": ("Accuracy/", "Locale convention/"),
    "punctuation": ("Fluency/Punctuation",), "brackets": ("Fluency/Punctuation", "Accuracy/Omission"),
    "untranslated": ("Accuracy/",),
    "placeholder": ("Accuracy/", "Fluency/Display", "Other"), "glossary": ("Terminology/",),
}
RULE_KIND = {"number_missing": "number", "number_added": "number", "unit_mismatch": "number",
             "date_mismatch": "date",
             "currency_mismatch": "currency", "currency_missing": "currency", "cjk_punctuation": "punctuation",
             "unbalanced_brackets": "brackets", "untranslated": "untranslated",
             "placeholder_missing": "placeholder", "placeholder_added": "placeholder", "glossary": "glossary"}
#: the check that raises each rule
RULE_CHECK = {"number_missing": "numbers", "number_added": "numbers", "unit_mismatch": "numbers",
              "date_mismatch": "dates", "currency_mismatch": "currency", "currency_missing": "currency",
              "cjk_punctuation": "cjk_punctuation", "unbalanced_brackets": "brackets", "untranslated": "untranslated",
              "placeholder_missing": "placeholders", "placeholder_added": "placeholders", "glossary": "glossary"}
_MARK = re.compile(r"</?v>")


@dataclass
class Segment:
    source: str
    target: str
    categories: set[str] = field(default_factory=set)
    penalty: float = 0.0

    def has(self, kind: str) -> bool:
        return any(c.startswith(KINDS[kind]) for c in self.categories)


def weight(category: str, severity: str) -> float:
    if severity == "Major":
        return 25.0 if category.startswith("Non-translation") else 5.0
    if severity == "Minor":
        return 0.1 if category == "Fluency/Punctuation" else 1.0
    return 0.0


def read_segments(path: Path) -> list[Segment]:
    segments: dict[tuple[str, str], Segment] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            key = (row["system"], row["seg_id"])
            seg = segments.setdefault(key, Segment(_MARK.sub("", row["source"]), _MARK.sub("", row["target"])))
            if row["category"] != "No-error":
                seg.categories.add(row["category"])
                seg.penalty += weight(row["category"], row["severity"])
    return list(segments.values())


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def table(pair: str, segments: list[Segment], checks: tuple[str, ...], source_lang: str,
          target_lang: str) -> list[str]:
    flagged: dict[str, set[int]] = defaultdict(set)
    for i, seg in enumerate(segments):
        for issue in check_translation(seg.source, seg.target, checks, source_lang=source_lang,
                                       target_lang=target_lang):
            flagged[issue["rule"]].add(i)
    lines = [f"**{pair}** ({len(segments)} segments, {sum(1 for s in segments if s.categories)} with a human error)",
             "", "| rule | fired | precision (kind) | base rate (kind) | any error | MQM flagged | MQM not flagged |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for rule in sorted(r for r in RULE_KIND if RULE_CHECK[r] in checks):
        hits = flagged.get(rule, set())
        kind = RULE_KIND[rule]
        base = mean([1.0 if s.has(kind) else 0.0 for s in segments])
        if not hits:
            lines.append(f"| {rule} | 0 | - | {base:.1%} | - | - | - |")
            continue
        precision = mean([1.0 if segments[i].has(kind) else 0.0 for i in hits])
        any_error = mean([1.0 if segments[i].categories else 0.0 for i in hits])
        pen_in = mean([segments[i].penalty for i in hits])
        pen_out = mean([s.penalty for i, s in enumerate(segments) if i not in hits])
        lines.append(f"| {rule} | {len(hits)} | {precision:.1%} | {base:.1%} | {any_error:.1%} | {pen_in:.2f} | "
                     f"{pen_out:.2f} |")
    union = set().union(*flagged.values()) if flagged else set()
    if union:
        lines.append(f"| (any rule) | {len(union)} | - | - | "
                     f"{mean([1.0 if segments[i].categories else 0.0 for i in union]):.1%} | "
                     f"{mean([segments[i].penalty for i in union]):.2f} | "
                     f"{mean([s.penalty for i, s in enumerate(segments) if i not in union]):.2f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", type=Path, default=CORPORA)
    ap.add_argument("--all", action="store_true", help="run every check, also those off by default")
    args = ap.parse_args()
    folder = args.corpora / "7_wmt_mqm"
    if not folder.is_dir():
        sys.exit(f"no MQM data in {folder} (give --corpora)")
    checks = ALL_CHECKS if args.all else DEFAULT_CHECKS
    print(f"checks: {', '.join(checks)}\n")
    for pair, (name, src, tgt) in PAIRS.items():
        print("\n".join(table(pair, read_segments(folder / name), checks, src, tgt)))
        print()


if __name__ == "__main__":
    main()
