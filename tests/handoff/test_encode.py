"""The chat-template encoder: turn boundaries from one tokenization equal those of tokenizing each prefix."""

from __future__ import annotations

from pathlib import Path

from datamill.handoff.encode import ChatEncoder, Turn
from export.lf_loader import make_tokenizer

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "The quick brown fox?"},
    {"role": "assistant", "content": "jumps over the lazy dog."},
    {"role": "user", "content": "你好"},
    {"role": "assistant", "content": "世界 1234567890"},
]


class _NoOffsets(ChatEncoder):
    """Forces the per-prefix path (what slow tokenizers and history-rewriting templates take)."""

    def boundaries(self, messages, tools=None):  # type: ignore[no-untyped-def]
        cuts = []
        for i, m in enumerate(messages):
            if m["role"] == "assistant":
                cuts.append(self.render(messages[:i], generation_prompt=True))
                cuts.append(self.render(messages[: i + 1]))
        return self.ids(self.render(messages)), [len(self.ids(c)) for c in cuts]


def test_offsets_and_per_prefix_tokenization_agree(tmp_path: Path) -> None:
    tokenizer = make_tokenizer(tmp_path)
    fast = ChatEncoder(tokenizer, eot_token="<|endoftext|>").turns(CONVERSATION)
    slow = _NoOffsets(tokenizer, eot_token="<|endoftext|>").turns(CONVERSATION)
    assert fast == slow and len(fast) == 2 and all(t.target > 0 for t in fast)
    total = len(tokenizer.apply_chat_template(CONVERSATION, tokenize=True, return_dict=True)["input_ids"])
    assert sum(t.source + t.target for t in fast) == total


def test_trailing_user_turn_is_a_source_without_target(tmp_path: Path) -> None:
    turns = ChatEncoder(make_tokenizer(tmp_path)).turns([*CONVERSATION, {"role": "user", "content": "more?"}])
    assert turns[-1] == Turn(turns[-1].source, 0, False) and turns[-1].source > 0
