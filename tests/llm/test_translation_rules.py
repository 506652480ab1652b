"""``translation_rules``: cases from en->zh trials and from the WMT MQM data (zh->en, en->de), each a rule
that fired wrongly before or one that must keep firing. Precision on the whole MQM data is in
benchmarks/bench_translation_rules.py (docs/llm.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datamill.steps.llm.numbers import mentions, word_values
from datamill.steps.llm.translation_rules import ALL_CHECKS, DEFAULT_CHECKS, RulesParams, check_translation


def rules(source: str, target: str, checks: tuple[str, ...] = ALL_CHECKS, **kw: str) -> list[str]:
    return sorted(f"{i['rule']}:{i['span']}" for i in check_translation(source, target, checks, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(("source", "target"), [
    ("The meeting is on November 24.", "会议在 11 月 24 日举行。"),  # a date: 11 is the month, not a number added
    ("会议在11月24日举行。", "The meeting is on November 24th."),
    ("The sale ends on 24 November 2020.", "Der Verkauf endet am 24. November 2020."),
    ("It costs 1,000 dollars.", "Es kostet 1.000 Dollar."),
    ("It weighs 1.5 kg.", "Es wiegt 1,5 kg."),
    ("有25万种开花植物。", "There are a quarter of a million species of flowering plants."),
    ("140亿年过去了。", "Fourteen billion years have passed."),
    ("2.5 million parts", "两百五十万个部分"),
    ("each one 10 times the mass of the Sun", "jedes davon zehnmal so groß wie die Sonnenmasse"),
    ("about 3.5 to 4 times as rich", "about three and a half, four times as rich"),
    ("almost 200 feet out of the water", "fast 60 Meter über dem Wasser"),  # a converted measure
    ("a 15-foot boat", "ein etwa fünf Meter langes Boot"),
    ("第3单元的内容", "The content of unit 3"),  # 元 of 单元 is no currency
    ("看左面，[1,1] 的输入", "On the left, the input of [1, 1]"),
    ("And then it gives you an output in 3D space.", "Und dann liefert es einen Output im dreidimensionalen Raum."),
])
def test_no_false_alarm(source: str, target: str) -> None:
    assert rules(source, target) == []


@pytest.mark.parametrize(("source", "target", "expected"), [
    ("不仅是它将升温至155华氏度， 43或44摄氏度", "it will raise itself to 115 Fahrenheit, 43 or 44 degrees Centigrade",
     ["number_added:115", "number_missing:155"]),
    ("它的范围是从8% 直到24% 多", "And it goes from about eight percent up to three times that", ["number_missing:24"]),
    ("almost 200 feet out of the water", "fast 200 Meter über dem Wasser", ["unit_mismatch:200"]),
    ("8 ft., 12 ft. long proteins", "8 Fuß, 3 Fuß lange Proteine", ["number_added:3", "number_missing:12"]),
    ("(Laughter) I want to start though with a paradox.", "(Ich möchte jedoch mit einem Paradoxon beginnen.",
     ["unbalanced_brackets:()"]),
    ("价格是1,000元，见{name}。", "The price is 100 yuan，see.",
     ["cjk_punctuation:，", "number_added:100", "number_missing:1,000", "placeholder_missing:{name}"]),
    ("会议在11月24日举行。", "The meeting is on November 25.", ["date_mismatch:11-24", "number_added:25",
                                                         "number_missing:24"]),
    ("这台电脑售价5000元", "The computer costs 5000 dollars", ["currency_mismatch:USD"]),
])
def test_real_errors_are_found(source: str, target: str, expected: list[str]) -> None:
    assert rules(source, target) == expected


def test_cjk_punctuation_only_in_a_non_cjk_translation() -> None:
    """A Chinese title full of brand names is still Chinese: its full-width comma is right."""
    zh = "Apple iPhone 12 Pro Max 保护壳，防摔"
    assert rules("Apple iPhone 12 Pro Max Case, Shockproof Cover", zh) == []
    assert rules("Hello, world", "Hello，world") == ["cjk_punctuation:，"]
    assert rules("Hello, world", "Hello，world", target_lang="zh") == []  # the recipe says it is Chinese
    assert rules("我喜欢腾讯的产品", "I like the products of 腾讯") == ["untranslated:腾讯"]
    assert rules("„Hallo“, sagte er.", "„Hallo“, sagte er.") == []  # German quotes are a pair
    assert rules("He said “hi”.", "Er sagte „hallo“.") == []


def test_defaults_are_the_measured_checks() -> None:
    assert DEFAULT_CHECKS == ("numbers", "brackets", "glossary")
    assert RulesParams().checks == list(DEFAULT_CHECKS)
    assert rules("Hello, world", "Hello，world", DEFAULT_CHECKS) == []  # cjk_punctuation is off by default
    assert rules("Hello, world", "Hello，world", ("punctuation",)) == ["cjk_punctuation:，"]  # the old name
    glossary = check_translation("使用机器学习", "use AI", glossary={"机器学习": "machine learning"})
    assert [i["rule"] for i in glossary] == ["glossary"] and glossary[0]["category"] == "terminology"


def test_number_readings() -> None:
    assert {str(v) for m in mentions("1,000 Leute") for v in m.values} == {"1E+3", "1"}
    assert [m.text for m in mentions("MP3 and G20 and 3D but 24th and 5km")] == ["24", "5"]
    assert [m.text for m in mentions("May I come in March?")] == []  # months only next to a number
    assert [m.text for m in mentions("in May 2020")] == ["2020", "May"]
    assert {int(v) for v in word_values("vierundzwanzig zweihundertfünfzig zweieinhalb")} >= {24, 250}
    assert {float(v) for v in word_values("zweieinhalb Millionen")} >= {2.5, 2.5e6}
    assert {int(v) for v in word_values("三十亿 一百零五 二〇〇八")} == {3_000_000_000, 105, 2008}


def test_benchmark_script_runs_on_the_mqm_data(corpora: Path) -> None:
    """The numbers in docs/llm.md come from this script; it must keep running."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_translation_rules.py"
    out = subprocess.run([sys.executable, str(script), "--corpora", str(corpora)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert "**zh-en** (7935 segments" in out and "**en-de** (7406 segments" in out
    assert "| number_missing |" in out
