"""Every cleaning step against one shared table of tricky texts: each step changes only what it promises.

``TRICKY`` holds texts that cleaning steps damage easily (full-width punctuation in Chinese, mixed zh/en,
Japanese, emoji with joiners, URLs touching Chinese, code, LaTeX, quotes, ellipses, dashes). For each step,
``EXPECTED`` lists the texts it must change, and into what; every other text of the table must come out
unchanged. A new tricky text goes into ``TRICKY`` and is checked against every step at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from datamill.steps.augment.template import Rewrite, RewriteParams
from datamill.steps.base import RowStep
from datamill.steps.clean.chinese import ChineseConvert, ChineseConvertParams
from datamill.steps.clean.html import HtmlParams, HtmlToText
from datamill.steps.clean.normalize import Normalize, NormalizeParams
from datamill.steps.clean.pii import MaskPii, MaskPiiParams
from datamill.steps.clean.remove import RemoveParams, RemovePatterns
from datamill.steps.clean.standardize import Standardize, StandardizeParams
from datamill.steps.clean.unicode import FixUnicode, FixUnicodeParams

from ..helpers import chat, run_row_step

TRICKY: dict[str, str] = {
    "cjk_fullwidth": "结果是30，对吗（是）？",
    "mixed": "我用Python 3.12写了一个script，运行OK。",
    "japanese": "東京は日本の首都です。「こんにちは」と言った。",
    "emoji": "太棒了👍🏽！家庭👨\u200d👩\u200d👧很幸福😀",
    "url_cjk": "官网 https://www.python.org/downloads/下载安装即可",
    "contact_cjk": "联系邮箱a.b@c.org或电话13812345678。",
    "code_fenced": "```python\ndef f(x):\n    return {'a':  1}  # 注释,说明\n```\n用法：f(1)",
    "code_plain": "def f(x):\n    if x:\n        return 1",
    "shell": "```bash\necho $1 $5\n```",
    "units": "跑了5公里，花了30分钟，重3.5kg，价格¥100。",
    "not_money": "共有118种元素，3元组和2元一次方程。",
    "quotes": "他说「你好」，她说“再见”，‘单引号’。",
    "ellipsis": "然后……就没有然后了...",
    "em_dash": "鲁迅——原名周树人——是作家。",
    "english": "Hello, world! It's 3:30 p.m. — see you.",
    "fullwidth_letters": "ＡＢＣ１２３ｶﾀｶﾅ",
    "ideographic_space": "\u3000\u3000第一章\u3000开始",
    "traditional": "漢字轉換，資訊軟體。",
    "math": "若 a<b 且 b>c，则 $5x+3$ 和 $x^2$。",
    "dollars": "It costs $5 and $10.",
    "inline_html_code": "用 `<b>粗体</b>` 表示加粗",
    "crlf": "第一行\r\n第二行",
    "entity": "用 &lt;br&gt; 换行",
    "entity_in_code": "用 `&amp;` 表示与，`&lt;` 表示小于",
    "mojibake": "ä½\xa0å¥½ï¼Œä¸–ç•Œ",
    "ligature": "ﬁnance",
    "compat_ideograph": "\uf900\u2126",
    "html": "<p>结果是30，对吗（是）？</p><p>“好”……——</p>",
    "html_pre": "<div><p>代码：</p><pre><code>def f():\n\n    return 1</code></pre></div>",
    # trial 2: dates inside URLs, e-mail addresses and code are not dates to rewrite
    "url_date": "Source: https://www.forbes.com/sites/x/2019/12/16/ai-trends/ 说明",
    "email_date": "写信给 r-2024.7.28@example.com 即可",
    "code_date": "运行 `touch 2024/7/28.log` 即可",
    # a date range is converted whole or not at all
    "date_range_zh": "1863 年 7 月 1 日至 3 日",
    "date_range_en": "from February 28th to March 3rd, 2005",
    "date_range_full": "2024年7月1日至2024年7月3日",
    # code written without a Markdown fence: string literals and call arguments are code
    "code_string_zh": "n = int(input('输入项目数量: '))",
    "code_call_zh": "generate_atp(电子, 氢离子)",
    "json_value": '{"address": "181 汤普森街, 纽约, NY 10012"}',
    # a "." between two Han characters is not sentence-final (attribute access, numbering)
    "dot_between_han": "当前.下一个=上一个；二.低指针加 1",
    "numbered_heading": "一. 介绍",
    "repeated_marks": "怎么办??好吗?!",
    # HTML tags mentioned in prose are content, not markup
    "html_mention": "常常会成对出现，比如 <html> 和 </html>，前者表示标签的开始。",
    "html_quoted": "用 \"<br>\" 换行，用 “<p>” 表示段落。",
    "html_decoded": "<head> 标签、<body> 标签，以及 <title> 标签",
}

STEPS: dict[str, RowStep[Any]] = {
    "fix_unicode": FixUnicode(FixUnicodeParams()),
    "fix_unicode(width)": FixUnicode(FixUnicodeParams(width=True)),
    "normalize": Normalize(NormalizeParams()),
    "remove_patterns": RemovePatterns(RemoveParams()),
    "mask_pii": MaskPii(MaskPiiParams()),
    "chinese_convert": ChineseConvert(ChineseConvertParams()),
    "standardize": Standardize(StandardizeParams()),
    "html_to_text": HtmlToText(HtmlParams()),
    "html_to_text(selectolax)": HtmlToText(HtmlParams(extractor="selectolax")),
    "rewrite({answer})": Rewrite(RewriteParams(template="{answer}")),
}

#: step -> {tricky text name: expected output}; texts not listed must come out unchanged
EXPECTED: dict[str, dict[str, str]] = {
    "fix_unicode": {
        "entity": "用 <br> 换行",
        "mojibake": "你好，世界",
        "ligature": "finance",
        "compat_ideograph": "\u8c48\u03a9",  # NFC: the canonical forms
    },
    "fix_unicode(width)": {
        "cjk_fullwidth": "结果是30,对吗(是)?",
        "mixed": "我用Python 3.12写了一个script,运行OK。",
        "emoji": "太棒了👍🏽!家庭👨\u200d👩\u200d👧很幸福😀",
        "code_fenced": "```python\ndef f(x):\n    return {'a':  1}  # 注释,说明\n```\n用法:f(1)",
        "units": "跑了5公里,花了30分钟,重3.5kg,价格¥100。",
        "not_money": "共有118种元素,3元组和2元一次方程。",
        "quotes": "他说「你好」,她说“再见”,‘单引号’。",
        "fullwidth_letters": "ABC123カタカナ",
        "ideographic_space": "  第一章 开始",
        "traditional": "漢字轉換,資訊軟體。",
        "math": "若 a<b 且 b>c,则 $5x+3$ 和 $x^2$。",
        "entity": "用 <br> 换行",
        "entity_in_code": "用 `&amp;` 表示与,`&lt;` 表示小于",
        "mojibake": "你好,世界",
        "ligature": "finance",
        "compat_ideograph": "\u8c48\u03a9",
        "html": "<p>结果是30,对吗(是)?</p><p>“好”……——</p>",
        "html_pre": "<div><p>代码:</p><pre><code>def f():\n\n    return 1</code></pre></div>",
        "dot_between_han": "当前.下一个=上一个;二.低指针加 1",
        "html_mention": "常常会成对出现,比如 <html> 和 </html>,前者表示标签的开始。",
        "html_quoted": "用 \"<br>\" 换行,用 “<p>” 表示段落。",
        "html_decoded": "<head> 标签、<body> 标签,以及 <title> 标签",
    },
    "normalize": {
        "mojibake": "ä½ å¥½ï¼Œä¸–ç•Œ",  # a no-break space is a space
        "fullwidth_letters": "ABC123ｶﾀｶﾅ",
        "ideographic_space": "第一章 开始",
        "crlf": "第一行\n第二行",
        "dot_between_han": "当前.下一个=上一个；二.低指针加 1",
        "repeated_marks": "怎么办？？好吗？！",
    },
    "remove_patterns": {
        "url_cjk": "官网 下载安装即可",
        "contact_cjk": "联系邮箱或电话。",
        "url_date": "Source: 说明",
        "email_date": "写信给 即可",
    },
    "mask_pii": {
        "contact_cjk": "联系邮箱<EMAIL>或电话<PHONE>。",
        "email_date": "写信给 <EMAIL> 即可",
    },
    "chinese_convert": {
        "traditional": "汉字转换，资讯软体。",
        "compat_ideograph": "岂\u2126",
    },
    "standardize": {
        "units": "跑了5公里，花了30分钟，重3.5kg，价格100 CNY。",
        "dollars": "It costs 5 USD and 10 USD.",
        "date_range_full": "2024-07-01至2024-07-03",
    },
    "html_to_text": {
        "html_pre": "代码：\ndef f():\n    return 1",  # trafilatura drops blank lines, keeps indentation
        "html": "结果是30，对吗（是）？\n“好”……——",
    },
    "html_to_text(selectolax)": {
        "html": "结果是30，对吗（是）？\n“好”……——",
        "html_pre": "代码：\ndef f():\n\n    return 1",
    },
    "rewrite({answer})": {},
}

CASES = [(step, name) for step in STEPS for name in TRICKY]


def answer_after(step: RowStep[Any], text: str) -> str:
    kept, dropped = run_row_step(step, [chat("t:0", "q", text)])
    assert not dropped
    return str(kept[0]["messages"][1]["content"])


def test_every_step_has_its_expectations() -> None:
    assert set(EXPECTED) == set(STEPS)
    for changes in EXPECTED.values():
        assert set(changes) <= set(TRICKY)


@pytest.mark.parametrize(("step", "name"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_step_changes_only_what_it_promises(step: str, name: str) -> None:
    text = TRICKY[name]
    expected = EXPECTED[step].get(name, text)
    out = answer_after(STEPS[step], text)
    assert out == expected
    assert answer_after(STEPS[step], out) == out  # idempotent on every text of the table
