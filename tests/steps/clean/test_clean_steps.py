"""Per-step tables: input text -> cleaned text."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from datamill.steps.base import RowStep
from datamill.steps.clean.chinese import ChineseConvert, ChineseConvertParams
from datamill.steps.clean.html import HtmlParams, HtmlToText
from datamill.steps.clean.normalize import Normalize, NormalizeParams
from datamill.steps.clean.pii import MaskPii, MaskPiiParams
from datamill.steps.clean.remove import RemoveParams, RemovePatterns
from datamill.steps.clean.standardize import Standardize, StandardizeParams
from datamill.steps.clean.unicode import FixUnicode, FixUnicodeParams

from ..helpers import chat, run_row_step


def clean(step: RowStep[Any], text: str) -> str:
    kept, dropped = run_row_step(step, [chat("c:0", "prompt", text)])
    assert not dropped
    return str(kept[0]["messages"][1]["content"])


CASES: list[tuple[RowStep[Any], str, str]] = [
    (Normalize(NormalizeParams()), "你好,世界!  ＡＢＣ１２３", "你好，世界！ABC123"),
    (Normalize(NormalizeParams()), "圆周率是3.14. Hello, world.", "圆周率是3.14. Hello, world."),
    (Normalize(NormalizeParams()), "a\r\n\r\n\r\n\r\nb\u200b  c \t", "a\n\nb c"),
    (Normalize(NormalizeParams()), "  a\n    b\n\n\n\n  c  ", "a\n  b\n\nc"),  # common indentation only
    (Normalize(NormalizeParams()), "\tif x:\n\t\ty()", "if x:\n\ty()"),
    (Normalize(NormalizeParams()), "用 `x  =  1`  和\u200d `a,b`,好", "用 `x  =  1` 和 `a,b`,好"),
    (Normalize(NormalizeParams(punctuation="ascii")), "你好，世界！（测试）", "你好,世界!(测试)"),
    (Normalize(NormalizeParams(cjk_spaces=True)), "中 文 text", "中文 text"),
    (Normalize(NormalizeParams()), "结束了. 下一句!!! 真的?", "结束了。下一句！！！真的？"),
    (Normalize(NormalizeParams()), "看这里:-) 和 好,,", "看这里:-) 和 好,,"),  # runs of mixed marks: all or none
    (Normalize(NormalizeParams()), 'msg = "你好, 世界"\nprint(msg)', 'msg = "你好, 世界"\nprint(msg)'),
    (Normalize(NormalizeParams()), "[1, \"中文, 值\"]", "[1, \"中文, 值\"]"),
    (FixUnicode(FixUnicodeParams()), "The Mona Lisa doesnâ€™t have eyebrows.", "The Mona Lisa doesn’t have eyebrows."),
    (FixUnicode(FixUnicodeParams()), "æ–‡å\xadó", "æ–‡å\xadó"),  # ambiguous: left alone
    (FixUnicode(FixUnicodeParams()), "plain ascii", "plain ascii"),
    (RemovePatterns(RemoveParams()), "看 https://x.com/a?b=1 这个。", "看 这个。"),
    (RemovePatterns(RemoveParams()), "mail me: a.b@c.org now", "mail me: now"),
    (RemovePatterns(RemoveParams()), "扫码关注公众号\n正文\nAll rights reserved 2024", "正文"),
    (RemovePatterns(RemoveParams()), "电话 13812345678 或 010-12345678", "电话 或"),
    (RemovePatterns(RemoveParams()), "值 13106370406846502.32", "值 13106370406846502.32"),
    (RemovePatterns(RemoveParams(patterns=[r"【广告】"], line_patterns=[])), "【广告】买买买", "买买买"),
    (MaskPii(MaskPiiParams()), "a.b@x.com 或 13812345678", "<EMAIL> 或 <PHONE>"),
    (MaskPii(MaskPiiParams()), "身份证 11010519491231002X，IP 61.135.169.121", "身份证 <ID_CARD>，IP <IP>"),
    (MaskPii(MaskPiiParams()), "卡号 4111 1111 1111 1111", "卡号 <CREDIT_CARD>"),
    (MaskPii(MaskPiiParams()), "卡号 4111 1111 1111 1112 和 110105194912310021", "卡号 4111 1111 1111 1112 和 110105194912310021"),  # noqa: E501
    (MaskPii(MaskPiiParams()), "IP 999.1.1.1, 2001:0db8:85a3:0000:0000:8a2e:0370:7334", "IP 999.1.1.1, <IP>"),
    (MaskPii(MaskPiiParams(types=["EMAIL"], placeholder="[{type}]")), "x@y.io 13812345678", "[EMAIL] 13812345678"),
    (ChineseConvert(ChineseConvertParams()), "漢字轉換，資訊軟體", "汉字转换，资讯软体"),
    (ChineseConvert(ChineseConvertParams(config="s2twp")), "信息软件", "資訊軟體"),
    (Standardize(StandardizeParams()), "2024年7月28日和July 28, 2024", "2024-07-28和2024-07-28"),
    (Standardize(StandardizeParams()), "2024/7/28 与 28 July 2024 与 07/28/2024", "2024-07-28 与 2024-07-28 与 2024-07-28"),  # noqa: E501
    (Standardize(StandardizeParams(day_first=True)), "03/04/2024", "2024-04-03"),
    (Standardize(StandardizeParams()), "2024年13月1日", "2024年13月1日"),
    (Standardize(StandardizeParams()), "¥100、100元、$5.50、5美元、RMB 1,000", "100 CNY、100 CNY、5.50 USD、5 USD、1,000 CNY"),  # noqa: E501
    (Standardize(StandardizeParams(units="symbol")), "跑了5公里, 3千克, 10 kilometers", "跑了5 km, 3 kg, 10 km"),
    (Standardize(StandardizeParams()), "跑了5公里", "跑了5公里"),
    (Standardize(StandardizeParams()), "见 forbes.com/sites/2019/12/16/ai 和 a/12/16/2019/b", "见 forbes.com/sites/2019/12/16/ai 和 a/12/16/2019/b"),  # noqa: E501
    (Standardize(StandardizeParams()), "July 1, 2024 to July 3, 2024; 2024年7月1日-3日", "2024-07-01 to 2024-07-03; 2024年7月1日-3日"),  # noqa: E501
    (Standardize(StandardizeParams()), "June 30 to July 3, 2024 and 1 - 3 July 2024", "June 30 to July 3, 2024 and 1 - 3 July 2024"),  # noqa: E501
    (HtmlToText(HtmlParams()), "<p>Hello <b>world</b></p><script>x()</script>", "Hello world"),
    (HtmlToText(HtmlParams(extractor="selectolax")), "<div>a</div><div>b &amp; c</div>", "a\nb & c"),
    (HtmlToText(HtmlParams()), "a < b and c > d", "a < b and c > d"),
    # scraped text with its markup inline is HTML even when it does not start with a tag
    (HtmlToText(HtmlParams(extractor="selectolax")), "第一行<br>第二行<br>第三行<br>", "第一行\n第二行\n第三行"),
    (HtmlToText(HtmlParams(extractor="selectolax")), "Intro:\n<ul><li>a</li><li>b</li></ul>", "Intro:\na\nb"),
    (HtmlToText(HtmlParams(extractor="selectolax")), "写 <b>粗体</b>、<i>斜体</i> 和<u>下划线</u>", "写 粗体、斜体 和下划线"),  # noqa: E501
    # a few tags mentioned in prose are its content
    (HtmlToText(HtmlParams()), "比如 <p> 和 </p>，<div> 和 </div>，都成对出现", "比如 <p> 和 </p>，<div> 和 </div>，都成对出现"),  # noqa: E501
    (HtmlToText(HtmlParams()), "Use <b> for bold and </b> to end it; <br> breaks a line.", "Use <b> for bold and </b> to end it; <br> breaks a line."),  # noqa: E501
]


@pytest.mark.parametrize(("step", "text", "expected"), CASES, ids=[f"{c[0].name}-{i}" for i, c in enumerate(CASES)])
def test_clean_table(step: RowStep[Any], text: str, expected: str) -> None:
    out = clean(step, text)
    assert out == expected
    assert clean(step, out) == out  # idempotent on every row of the table


def test_clean_acts_only_on_the_selected_part() -> None:
    record = chat("c:1", "你好,世界", "你好,世界")
    kept, _ = run_row_step(Normalize(NormalizeParams(on="answer")), [record])
    assert kept[0]["messages"][0]["content"] == "你好,世界"
    assert kept[0]["messages"][1]["content"] == "你好，世界"


def test_standardize_defaults_to_the_answer() -> None:
    assert Standardize(StandardizeParams()).params.on == "answer"
    assert Standardize(StandardizeParams(on="all")).params.on == "all"


def test_bad_params_are_rejected() -> None:
    with pytest.raises(ValidationError):
        RemoveParams(patterns=["("])
    with pytest.raises(ValidationError):
        NormalizeParams(on=[])
    with pytest.raises(ValidationError):
        ChineseConvertParams(config="x2y")  # type: ignore[arg-type]


def test_html_on_a_real_article(corpora: Any) -> None:
    import gzip
    import json

    folder = corpora / "8_html_article_benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text())
    page = sorted(folder.glob("*.html.gz"))[0]
    html = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
    out = clean(HtmlToText(HtmlParams()), html)
    body = truth[page.name.removesuffix(".html.gz")]["articleBody"]
    assert "<" not in out[:200] and len(out) > 0.5 * len(body)
    assert body.split()[0] in out
