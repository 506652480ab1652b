"""``lang_id`` on mixed zh/en text: precision and recall of its drops, lingua alone vs the script-share rule.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_lang_mixed.py

Data (read from ../shared/corpora, never copied):

* ``7_shopee_product_titles/dev_tcn.csv``: 1,000 zh-Hant product titles, most with Latin brand and model
  names (``NIKE 耐吉 LEBRON XV LOW EP 籃球鞋 AO1756100``); ``dev_en.csv``: their 1,000 English
  translations (no Han character in any of them).
* ``2_llamafactory/alpaca_zh_demo.json`` / ``alpaca_en_demo.json``: 1,000 + 999 answers (Chinese prose with
  English terms and code; English prose). The zh file holds English answers too: the 34 zh-file answers
  lingua calls English were read and labelled by hand (25 ``en``, 8 ``zh``, 1 ``mixed``); the en file has no
  Han character at all.

How the titles are labelled. A title is labelled by the language of the words that *describe* the product,
not brand names, model numbers, shop names or sizes: ``zh`` when they are Chinese, ``en`` when they are
only English (Chinese, if any, only names the shop: ``＊小徑文化＊mt 2013summer _ mt slim``), ``mixed``
when both languages describe it (``Apieu Color Lip Pencil MATT絲緞``). Every title that lingua calls
English, that has no Han character, or whose Han characters are under 35% of its letters (190 titles) was
read and labelled by hand: 7 ``en`` and 15 ``mixed`` (the indices below), the rest ``zh``; the other 810
titles are over a third Han and were labelled ``zh`` after reading a random 40 of them (all Chinese
descriptions). For a Chinese dataset (``keep: [zh]``) a correct drop is an ``en`` text; dropping a
``mixed`` or ``zh`` one loses Chinese. For an English dataset (``keep: [en]``) a correct drop is a ``zh``
text; ``mixed`` titles describe the product in English too, so dropping them is counted as wrong.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path
from typing import Any

from datamill.steps.base import Drop
from datamill.steps.filters.lang_id import LangId, LangIdParams

CORPORA = Path(os.environ.get("DATAMILL_CORPORA") or Path(__file__).resolve().parents[2] / "shared" / "corpora")
#: hand labels of dev_tcn.csv rows (0-based, header excluded); every other row is zh (see the docstring)
TITLES_EN = (260, 479, 505, 568, 593, 597, 626)
TITLES_MIXED = (3, 11, 23, 166, 241, 303, 346, 443, 562, 600, 736, 741, 789, 804, 960)
#: hand labels of alpaca_zh_demo.json rows whose answer lingua calls English (every other row of the zh file
#: is zh, every row of the en file is en: it has no Han character at all)
ALPACA_ZH_EN = (54, 56, 117, 185, 322, 332, 351, 353, 354, 421, 458, 490, 517, 521, 576, 600, 612, 625, 734, 790,
                836, 891, 893, 899, 919)
ALPACA_ZH_MIXED = (273,)
THRESHOLDS: tuple[float | None, ...] = (None, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


def read_csv(path: Path, column: str) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [row[column] for row in csv.DictReader(fh)]


def titles() -> list[tuple[str, str]]:
    folder = CORPORA / "7_shopee_product_titles"
    tcn = read_csv(folder / "dev_tcn.csv", "text")
    en = read_csv(folder / "dev_en.csv", "translation_output")
    labels = {i: "en" for i in TITLES_EN} | {i: "mixed" for i in TITLES_MIXED}
    return [(t, labels.get(i, "zh")) for i, t in enumerate(tcn)] + [(t, "en") for t in en]


def alpaca() -> list[tuple[str, str]]:
    folder = CORPORA / "2_llamafactory"
    zh = json.loads((folder / "alpaca_zh_demo.json").read_text(encoding="utf-8"))
    en = json.loads((folder / "alpaca_en_demo.json").read_text(encoding="utf-8"))
    labels = {i: "en" for i in ALPACA_ZH_EN} | {i: "mixed" for i in ALPACA_ZH_MIXED}
    return ([(r["output"], labels.get(i, "zh")) for i, r in enumerate(zh) if r["output"].strip()]
            + [(r["output"], "en") for r in en if r["output"].strip()])


def decisions(data: list[tuple[str, str]], keep: str, share: float | None) -> list[bool]:
    """True where the record is dropped."""
    step = LangId(LangIdParams(languages=["zh", "en"], keep=[keep], min_script_share=share))
    step.setup()
    return [isinstance(step.process({"id": str(i), "kind": "pretrain", "text": text}), Drop)
            for i, (text, _) in enumerate(data)]


def row(data: list[tuple[str, str]], keep: str, share: float | None) -> dict[str, Any]:
    should = [label not in (keep, "mixed") for _, label in data]
    dropped = decisions(data, keep, share)
    right = sum(d and s for d, s in zip(dropped, should, strict=True))
    drops = sum(dropped)
    return {"share": "lingua alone" if share is None else f"{share:.2f}", "drops": drops, "right": right,
            "wrong": drops - right,
            "precision": right / drops if drops else 1.0, "recall": right / sum(should) if any(should) else 1.0}


def table(title: str, data: list[tuple[str, str]], keep: str) -> None:
    counts = {lab: sum(1 for _, x in data if x == lab) for lab in ("zh", "mixed", "en")}
    print(f"\n### {title}: keep [{keep}] ({', '.join(f'{n} {lab}' for lab, n in counts.items())})\n")
    print("| min_script_share | drops | right | wrong | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|")
    for share in THRESHOLDS:
        r = row(data, keep, share)
        print(f"| {r['share']} | {r['drops']} | {r['right']} | {r['wrong']} | {r['precision']:.3f} "
              f"| {r['recall']:.3f} |")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    shop = titles()
    table("Shopee titles, zh-Hant side only", shop[:1000], "zh")
    table("Shopee titles, zh-Hant + English translations", shop, "zh")
    table("Shopee titles, zh-Hant + English translations", shop, "en")
    prose = alpaca()
    table("Alpaca answers (zh demo + en demo)", prose, "zh")
    table("Alpaca answers (zh demo + en demo)", prose, "en")


if __name__ == "__main__":
    main()
