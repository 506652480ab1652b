"""Per-filter tables: record -> kept, or the drop reason."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from datamill.steps.base import RowStep
from datamill.steps.filters.blocklist import Blocklist, BlocklistParams
from datamill.steps.filters.empty_answer import EmptyAnswer, EmptyAnswerParams
from datamill.steps.filters.lang_id import LangId, LangIdParams
from datamill.steps.filters.length import Length, LengthParams
from datamill.steps.filters.refusal import Refusal, RefusalParams
from datamill.steps.filters.repetition import Repetition, RepetitionParams
from datamill.steps.filters.same_text import PromptEqualsAnswer, PromptEqualsAnswerParams
from datamill.steps.filters.score_threshold import ScoreThreshold, ScoreThresholdParams
from datamill.steps.filters.special_chars import SpecialChars, SpecialCharsParams

from ..helpers import chat, run_row_step

KEEP = None
LANG = LangId(LangIdParams(languages=["zh", "en", "ja"], keep=["zh", "en"]))
ZH_EXPLANATION = ("直接宾语和间接宾语都是句子成分。直接宾语是动作直接作用的对象，回答“什么”；"
                  "间接宾语是动作的间接作用对象，回答“给谁”。例如在句子“我给她一本书”中，一本书是直接宾语，"
                  "她是间接宾语。直接宾语通常紧跟在动词后面，间接宾语通常在直接宾语前面。")

CASES: list[tuple[RowStep[Any], dict[str, Any], str | None]] = [
    (Length(LengthParams(min=3)), chat("a", "q", "abc"), KEEP),
    (Length(LengthParams(min=3)), chat("a", "q", "ab"), "too_short"),
    (Length(LengthParams()), chat("a", "q", ""), "too_short"),
    (Length(LengthParams(max=5)), chat("a", "q", "abcdef"), "too_long"),
    (Length(LengthParams(unit="words", min=3)), chat("a", "q", "一二三"), KEEP),
    (Length(LengthParams(unit="words", min=3)), chat("a", "q", "hello world"), "too_short"),
    (Length(LengthParams(on="prompt", min=5)), chat("a", "q", "long answer"), "too_short"),
    (Repetition(RepetitionParams()), chat("a", "q", "好的" * 40), "repetition_ngrams"),
    (Repetition(RepetitionParams()), chat("a", "q", "line\nline\nline\nother"), "repetition_lines"),
    (Repetition(RepetitionParams()), chat("a", "q", "The quick brown fox jumps over the lazy dog."), KEEP),
    # a Chinese explanation repeats its terms (直接宾语, 间接宾语): not a loop (4-character n-grams dropped it)
    (Repetition(RepetitionParams()), chat("a", "q", ZH_EXPLANATION), KEEP),
    (Repetition(RepetitionParams()), chat("a", "q", "这个问题很好，" * 15 + "谢谢。"), "repetition_ngrams"),
    (Repetition(RepetitionParams()), chat("a", "q", "我不知道。" * 20), "repetition_ngrams"),
    (SpecialChars(SpecialCharsParams()), chat("a", "q", "★★★★☆☆☆ ### @@@ ^^^ |||"), "special_chars"),
    (SpecialChars(SpecialCharsParams()), chat("a", "q", "计算：3 + 4 = 7，对吗？"), KEEP),
    (Blocklist(BlocklistParams(words=["赌博", "casino"])), chat("a", "网上赌博", "no"), "blocklist"),
    (Blocklist(BlocklistParams(words=["ass"])), chat("a", "q", "a class act"), KEEP),
    (Blocklist(BlocklistParams(patterns=[r"\bv[i1]agra\b"])), chat("a", "q", "buy v1agra"), "blocklist"),
    (EmptyAnswer(EmptyAnswerParams()), chat("a", "q", "  "), "empty_answer"),
    (EmptyAnswer(EmptyAnswerParams()), chat("a", "q", "N/A"), "empty_answer"),
    (EmptyAnswer(EmptyAnswerParams()), chat("a", "q", "暂无。"), "empty_answer"),
    (EmptyAnswer(EmptyAnswerParams()), chat("a", "q", "..."), "empty_answer"),
    (EmptyAnswer(EmptyAnswerParams()), {"id": "a", "messages": [{"role": "user", "content": "q"}]}, "empty_answer"),
    (EmptyAnswer(EmptyAnswerParams()), chat("a", "q", "无需担心"), KEEP),
    (PromptEqualsAnswer(PromptEqualsAnswerParams()), chat("a", "Hello, World!", "hello world"), "prompt_equals_answer"),
    (PromptEqualsAnswer(PromptEqualsAnswerParams()), chat("a", "你好", "你好！"), "prompt_equals_answer"),
    (PromptEqualsAnswer(PromptEqualsAnswerParams()), chat("a", "你好", "你好呀"), KEEP),
    (Refusal(RefusalParams()), chat("a", "q", "I'm sorry, but I can't help with that."), "refusal"),
    (Refusal(RefusalParams()), chat("a", "q", "As an AI language model, I have no opinions."), "refusal"),
    (Refusal(RefusalParams()), chat("a", "q", "抱歉，我无法回答这个问题。"), "refusal"),
    (Refusal(RefusalParams()), chat("a", "q", "作为一个人工智能，我没有感情。"), "refusal"),
    (Refusal(RefusalParams()), chat("a", "q", "当然可以！" + "内容" * 300 + "我无法回答"), KEEP),
    (ScoreThreshold(ScoreThresholdParams(score="quality", min=3)), chat("a", "q", "x", scores={"quality": 2}),
     "score_below:quality"),
    (ScoreThreshold(ScoreThresholdParams(score="quality", min=3)), chat("a", "q", "x", scores={"quality": 4}), KEEP),
    (ScoreThreshold(ScoreThresholdParams(score="quality", max=3)), chat("a", "q", "x", scores={"quality": 4}),
     "score_above:quality"),
    (ScoreThreshold(ScoreThresholdParams(score="quality", min=3)), chat("a", "q", "x"), "score_missing"),
    (ScoreThreshold(ScoreThresholdParams(score="meta.stars", min=3, missing="keep")), chat("a", "q", "x"), KEEP),
    (LANG, chat("a", "今天天气怎么样？", "今天天气很好。"), KEEP),
    (LANG, chat("a", "What is the capital of France?", "Paris is the capital of France."), KEEP),
    (LANG, chat("a", "今日は天気がいいですね。", "そうですね、散歩に行きましょう。"), "lang:ja"),
    (LANG, chat("a", "今天天气怎么样？", "It is sunny and warm today."), KEEP),
    (LangId(LangIdParams(keep=["zh"])), chat("a", "今天天气怎么样？", "It is sunny and warm today."), "lang:en"),
    (LangId(LangIdParams(unknown="drop")), chat("a", "12345", "67890"), KEEP),
]


@pytest.mark.parametrize(("step", "record", "reason"), CASES, ids=[f"{c[0].name}-{i}" for i, c in enumerate(CASES)])
def test_filter_table(step: RowStep[Any], record: dict[str, Any], reason: str | None) -> None:
    kept, dropped = run_row_step(step, [record])
    assert [d.reason for _, d in dropped] == ([] if reason is None else [reason])
    assert len(kept) == (1 if reason is None else 0)


def test_lang_id_writes_lang_and_scores() -> None:
    step = LangId(LangIdParams(write_scores=True))
    kept, _ = run_row_step(step, [chat("a", "12345", "这是一个中文回答。"), chat("b", "1", "2")])
    assert kept[0]["lang"] == "zh" and kept[0]["scores"]["lang_id.confidence"] > 0.5
    assert kept[1]["lang"] == "unknown"


def test_write_scores_keeps_scores_of_kept_records() -> None:
    kept, _ = run_row_step(Repetition(RepetitionParams(write_scores=True)), [chat("a", "q", "a b c d e f")])
    assert kept[0]["scores"] == {"repetition.lines": 0.0, "repetition.ngrams": 0.0}


def test_bad_filter_params() -> None:
    for make in (lambda: LengthParams(unit="tokens"), lambda: LengthParams(min=5, max=2),
                 lambda: ScoreThresholdParams(score="q"), lambda: LangIdParams(languages=["zh"], keep=["en"]),
                 lambda: LangIdParams(languages=["chinese"]), lambda: BlocklistParams(patterns=["["])):
        with pytest.raises(ValidationError):
            make()
