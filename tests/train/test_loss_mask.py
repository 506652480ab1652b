"""Which tokens carry loss: SmolLM2's chat template has no generation markers, so datamill marks the
answer spans itself; TRL's collator must then train on exactly those tokens (answer + ``<|im_end|>\\n``)."""

from __future__ import annotations

from typing import Any

import pytest

from datamill.handoff.encode import ChatEncoder

pytest.importorskip("trl")

CONVERSATION = [
    {"role": "system", "content": "You add numbers."},
    {"role": "user", "content": "计算 1 + 2 等于多少？"},
    {"role": "assistant", "content": "计算过程：1 + 2 = 3"},
    {"role": "user", "content": "and 2 + 2?"},
    {"role": "assistant", "content": "4"},
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def test_template_has_no_generation_markers(tokenizer: Any) -> None:
    assert "{% generation %}" not in tokenizer.chat_template  # hence TRL's assistant_only_loss cannot be used
    out = tokenizer.apply_chat_template(CONVERSATION, return_assistant_tokens_mask=True, return_dict=True)
    assert not any(out["assistant_masks"])  # transformers' own mask is empty: nothing would be trained


def test_only_the_answers_and_their_end_of_turn_carry_loss(tokenizer: Any) -> None:
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    ids, mask = ChatEncoder(tokenizer).assistant_mask(CONVERSATION)
    assert ids == tokenizer.apply_chat_template(CONVERSATION, tokenize=True, return_dict=True)["input_ids"]
    batch = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id)(
        [{"input_ids": ids, "assistant_masks": mask}])
    labels = batch["labels"][0].tolist()
    trained = [t for t in labels if t != -100]
    assert tokenizer.decode(trained) == "计算过程：1 + 2 = 3<|im_end|>\n4<|im_end|>\n"
    ignored = tokenizer.decode([t for t, lab in zip(ids, labels, strict=True) if lab == -100])
    assert "You add numbers." in ignored and "and 2 + 2?" in ignored and "<|im_start|>assistant\n" in ignored
    assert "计算过程" not in ignored
