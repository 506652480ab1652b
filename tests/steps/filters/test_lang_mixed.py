"""``lang_id`` on mixed-script text: the script-share rule, and the default ``on`` its docs state."""

from __future__ import annotations

from typing import Any

import pytest

from datamill.records import Record
from datamill.steps.clean.standardize import StandardizeParams
from datamill.steps.filters.lang_id import LangId, LangIdParams
from datamill.steps.filters.scripts import language_share, script_shares

from ..helpers import chat, run_row_step

KEEP = None
ZH = LangIdParams(keep=["zh"])
CASES: list[tuple[LangIdParams, str, str | None]] = [
    # zh-Hant product titles with Latin brand names (lingua alone calls each of them English at 1.0)
    (ZH, "Superdry Men's Swirl Dot 短袖衬衫", KEEP),
    (ZH, "NIKE 耐吉 LEBRON XV LOW EP 籃球鞋 AO1756100", KEEP),
    (ZH, "120x45x180cm輕型五層烤漆白波浪架", KEEP),
    (ZH, "NEKOPARA Vol手機殼HTC U Ultra U PLAY 10 PRO LIFESTYLE 728 830", KEEP),
    # Chinese prose whose code is English: code is nobody's language
    (ZH, "下面是一个简单的示例：\n\n```python\ndef greet(name):\n    # print a friendly greeting for the user\n"
         "    print(f'Hello, {name}! Welcome to the world of programming.')\n```", KEEP),
    # English stays English
    (ZH, "HATer Snapback Gunmetal Logo Beanie- Black", "lang:en"),
    (ZH, "Many travellers ask how to say thank you in Mandarin. It is 谢谢, which is easy to learn and widely "
         "appreciated by shop owners, taxi drivers and everyone else you meet on the way.", "lang:en"),
    # the rule is only between different scripts: Japanese shares Han with Chinese
    (LangIdParams(languages=["zh", "en", "ja"], keep=["zh"]), "東京タワーは高いです。", "lang:ja"),
    # and never for a Latin language: Latin letters are the brand names inside Chinese text
    (LangIdParams(keep=["en"]), "今天天气很好，我们一起去公园散步吧。Nike Adidas Puma", "lang:zh"),
    # off: lingua alone decides
    (LangIdParams(keep=["zh"], min_script_share=None), "Superdry Men's Swirl Dot 短袖衬衫", "lang:en"),
]


@pytest.mark.parametrize(("params", "text", "reason"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_mixed_script_table(params: LangIdParams, text: str, reason: str | None) -> None:
    record: Record = {"id": "t", "kind": "pretrain", "text": text}
    kept, dropped = run_row_step(LangId(params), [record])
    assert [d.reason for _, d in dropped] == ([] if reason is None else [reason])
    if reason is None:
        assert kept[0]["lang"] == params.keep[0]  # type: ignore[index]


def test_a_kept_mixed_text_is_noted_and_a_drop_names_the_scripts() -> None:
    step = LangId(ZH)
    step.setup()
    kept: Any = step.process({"id": "a", "text": "Superdry Men's Swirl Dot 短袖衬衫"})
    assert kept["lang"] == "zh"
    assert step.take_notes() == {"kept_by_script_share": 1}
    drop: Any = step.process({"id": "b", "text": "HATer Snapback Gunmetal Logo Beanie- Black"})
    assert drop.reason == "lang:en" and drop.detail["scripts"] == {"latin": 1.0}


def test_on_defaults_to_the_answer_as_documented() -> None:
    translation = chat("a", "Translate into Chinese: good morning, everyone", "大家早上好")
    kept, dropped = run_row_step(LangId(ZH), [translation])
    assert len(kept) == 1 and not dropped  # the English prompt of a translation task is not checked
    _, dropped = run_row_step(LangId(LangIdParams(keep=["zh"], on=["prompt", "answer"])), [translation])
    assert [d.reason for _, d in dropped] == ["lang:en"]
    # what `datamill steps` and `datamill schema` show is what the step does
    assert LangIdParams.model_json_schema()["properties"]["on"]["default"] == "answer"
    assert StandardizeParams.model_json_schema()["properties"]["on"]["default"] == "answer"


def test_script_shares_weigh_cjk_and_skip_code() -> None:
    assert script_shares("abc") == {"latin": 1.0}
    assert language_share(script_shares("ab中"), "zh") == pytest.approx(2.7 / 4.7)
    assert script_shares("中文 `some code here`") == {"han": 1.0}
    assert script_shares("12345 !!") == {}
    assert language_share(script_shares("カタカナと漢字"), "ja") == pytest.approx(1.0)


def test_blocklist_schema_shows_the_default_it_uses() -> None:
    from datamill.steps.filters.blocklist import Blocklist, BlocklistParams

    assert BlocklistParams.model_json_schema()["properties"]["on"]["default"] == "all"
    _, dropped = run_row_step(Blocklist(BlocklistParams(words=["赌博"])), [chat("a", "网上赌博", "不行")])
    assert [d.reason for _, d in dropped] == ["blocklist"]  # found in the prompt: on is all


def test_blocklist_file_words_are_in_the_params(tmp_path: Any) -> None:
    from datamill.errors import RecipeError
    from datamill.steps.filters.blocklist import Blocklist, BlocklistParams

    path = tmp_path / "words.txt"
    path.write_text("# banned\n赌博\ncasino\n", encoding="utf-8")
    assert Blocklist(BlocklistParams(words=["x"], file=str(path))).params.words == ["x", "赌博", "casino"]
    with pytest.raises(RecipeError, match="cannot read"):
        Blocklist(BlocklistParams(file=str(tmp_path / "missing.txt")))
