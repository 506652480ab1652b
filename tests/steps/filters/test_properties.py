"""Hypothesis properties: filters never add or change kept records; cleaning is idempotent."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datamill.steps.base import RowStep
from datamill.steps.clean.normalize import Normalize, NormalizeParams
from datamill.steps.clean.pii import MaskPii, MaskPiiParams
from datamill.steps.clean.remove import RemoveParams, RemovePatterns
from datamill.steps.clean.standardize import Standardize, StandardizeParams
from datamill.steps.filters.blocklist import Blocklist, BlocklistParams
from datamill.steps.filters.empty_answer import EmptyAnswer, EmptyAnswerParams
from datamill.steps.filters.length import Length, LengthParams
from datamill.steps.filters.refusal import Refusal, RefusalParams
from datamill.steps.filters.repetition import Repetition, RepetitionParams
from datamill.steps.filters.same_text import PromptEqualsAnswer, PromptEqualsAnswerParams
from datamill.steps.filters.special_chars import SpecialChars, SpecialCharsParams

from ..helpers import chat, run_row_step

PIECES = ["你好", ",", "!", ".", " ", "  ", "\n", "\n\n\n", "ＡＢ", "１２", "3.14", "abc", "2024年7月28日", "¥100",
          "100元", "5公里", "a@b.co", "13812345678", "https://x.cn/a", "扫码关注", "　", "\u200b", "，", "。", "$5",
          "07/28/2024", "192.168.0.1", "4111111111111111", "RMB 1,000", "July 4, 2024", "-", "x"]
text = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
records = st.lists(st.tuples(text, text), max_size=8).map(
    lambda rows: [chat(f"h:{i}", p, a) for i, (p, a) in enumerate(rows)])
FILTERS: list[RowStep[Any]] = [
    Length(LengthParams(min=3, max=30)), Repetition(RepetitionParams()), SpecialChars(SpecialCharsParams()),
    Blocklist(BlocklistParams(words=["abc"])), EmptyAnswer(EmptyAnswerParams()), Refusal(RefusalParams()),
    PromptEqualsAnswer(PromptEqualsAnswerParams()),
]
CLEANERS: list[RowStep[Any]] = [
    Normalize(NormalizeParams()), Normalize(NormalizeParams(punctuation="ascii", cjk_spaces=True)),
    RemovePatterns(RemoveParams()), MaskPii(MaskPiiParams()), Standardize(StandardizeParams(on="all", units="symbol")),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_filters_never_add_or_change_records(rows: list[dict[str, Any]]) -> None:
    for step in FILTERS:
        kept, dropped = run_row_step(step, rows)
        assert len(kept) + len(dropped) == len(rows)
        assert all(r in rows for r in kept)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_cleaning_is_idempotent(rows: list[dict[str, Any]]) -> None:
    for step in CLEANERS:
        once, dropped = run_row_step(step, rows)
        twice, _ = run_row_step(step, once)
        assert not dropped and twice == once, step.name
