"""Proof with TRL's own dataset helpers: every row the ``trl`` exporter writes is recognised as
conversational by ``trl.data_utils.is_conversational`` and goes through ``maybe_apply_chat_template``
(with a local tokenizer's chat template) into the text fields TRL's trainers tokenize."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from .conftest import export
from .samples import KTO, PREFERENCE, PRETRAIN, SFT, TOOL_CHAT

pytestmark = pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason="trl is not installed")


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from export.lf_loader import make_tokenizer

    return make_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.mark.parametrize(
    ("records", "fields"),
    [
        (SFT + TOOL_CHAT, {"text"}),
        (PREFERENCE, {"prompt", "chosen", "rejected"}),
        (KTO, {"prompt", "completion", "label"}),
    ],
)
def test_trl_reads_conversational_rows(tmp_path: Path, tokenizer: Any, records: list[dict[str, Any]],
                                       fields: set[str]) -> None:
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    out = export(records, "trl", tmp_path)
    rows = out.rows()
    assert rows and len(rows) == sum(out.written.values())
    for row in rows:
        assert is_conversational(row)
        applied = maybe_apply_chat_template(row, tokenizer)
        assert fields <= set(applied)
        for key in fields - {"label"}:
            assert isinstance(applied[key], str) and applied[key]


def test_trl_pretrain_rows_are_standard_language_modeling(tmp_path: Path, tokenizer: Any) -> None:
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    for row in export(PRETRAIN, "trl", tmp_path).rows():
        assert not is_conversational(row)
        assert maybe_apply_chat_template(row, tokenizer) == row
