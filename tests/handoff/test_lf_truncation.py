"""The handoff check's model of LLaMA-Factory's truncation, against LLaMA-Factory's own preprocessing.

SmolLM2's real tokenizer; conversations with an explicit system prompt (so that LLaMA-Factory's
``smollm2`` template and the tokenizer's chat template render the same text), one to three turns,
answers and prompts of many lengths. For every example LLaMA-Factory's ``get_dataset`` keeps, the
check must predict the exact number of input tokens, the exact number of trained (label) tokens, and
whether the last label is the end-of-turn token.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest

from datamill.handoff.encode import ChatEncoder
from datamill.handoff.trainers import llamafactory_kept, llamafactory_outcome
from export.lf_loader import LlamaFactory, available
from fixtures.tiny_model import tiny_model_dir

pytestmark = pytest.mark.skipif(not available(), reason="llamafactory is not installed")

WORDS = ["the", "model", "answers", "弱智吧", "问题", "with", "计算过程", "7469.98", "*", "-2455.65", "and", "stops"]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _conversations(rng: random.Random, count: int) -> list[list[dict[str, str]]]:
    out = []
    for i in range(count):
        turns = 1 + i % 3
        msgs = [{"role": "system", "content": _text(rng, rng.choice([3, 40]))}]
        for _ in range(turns):
            msgs.append({"role": "user", "content": _text(rng, rng.choice([2, 10, 60, 150]))})
            msgs.append({"role": "assistant", "content": _text(rng, rng.choice([1, 8, 50, 200]))})
        out.append(msgs)
    return out


def _lf_examples(lf: LlamaFactory, tokenizer: Any, folder: Path, cutoff: int) -> list[dict[str, Any]]:
    from llamafactory.hparams import ModelArguments

    data_args = lf._data_args(template="smollm2", dataset="conv", dataset_dir=str(folder), cutoff_len=cutoff,
                              overwrite_cache=True, packing=False)
    template = lf._template(tokenizer, data_args)
    model_args = ModelArguments(model_name_or_path=str(folder / "tok"))
    with contextlib.redirect_stdout(io.StringIO()):
        module = lf._get_dataset(template, model_args, data_args, lf._training_args, stage="sft", tokenizer=tokenizer)
    return list(module["train_dataset"])


@pytest.mark.parametrize("cutoff", [64, 200])
def test_truncation_model_matches_llamafactory(tmp_path: Path, cutoff: int) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir()))
    tokenizer.save_pretrained(str(tmp_path / "tok"))
    conversations = _conversations(random.Random(cutoff), 30)
    rows = [{"messages": m} for m in conversations]
    (tmp_path / "conv.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "dataset_info.json").write_text(json.dumps({"conv": {
        "file_name": "conv.json", "formatting": "sharegpt", "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
                 "system_tag": "system"}}}), encoding="utf-8")
    lf = LlamaFactory(tmp_path / "lf")
    examples = _lf_examples(lf, tokenizer, tmp_path, cutoff)
    assert len(examples) == len(conversations)

    encoder = ChatEncoder(tokenizer)
    kinds: set[str] = set()
    for messages, example in zip(conversations, examples, strict=True):
        enc = encoder.encode({"kind": "chat", "messages": messages})
        kept = llamafactory_kept(enc.turns, cutoff)
        labels = [t for t in example["labels"] if t != -100]
        assert len(example["input_ids"]) == sum(s + t for s, t in kept)
        assert len(labels) == sum(t for _, t in kept)
        res = llamafactory_outcome(enc, {"messages": messages}, cutoff)
        assert (labels[-1] == encoder.eot_id or labels[-2] == encoder.eot_id) == (not res.eot_lost)
        kinds.update(res.truncated or ["fits"])
    # the sample covers every way LLaMA-Factory truncates
    assert kinds >= {"fits", "answer_cut", "turns_dropped"} if cutoff == 200 else kinds >= {"answer_cut"}


@pytest.mark.parametrize("cutoff", [48, 160])
def test_pair_truncation_matches_llamafactory(tmp_path: Path, cutoff: int) -> None:
    """Preference pairs (stage rm): the prompt against the longer answer, both answers cut to the same length."""
    from transformers import AutoTokenizer

    from datamill.handoff.trainers import infer_seqlen

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir()))
    tokenizer.save_pretrained(str(tmp_path / "tok"))
    rng = random.Random(cutoff)
    rows = []
    for _ in range(20):
        rows.append({"messages": [{"role": "system", "content": _text(rng, 5)},
                                  {"role": "user", "content": _text(rng, rng.choice([3, 30, 90]))}],
                     "chosen": {"role": "assistant", "content": _text(rng, rng.choice([2, 20, 120]))},
                     "rejected": {"role": "assistant", "content": _text(rng, rng.choice([2, 20, 120]))}})
    (tmp_path / "conv.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "dataset_info.json").write_text(json.dumps({"conv": {
        "file_name": "conv.json", "formatting": "sharegpt", "ranking": True,
        "columns": {"messages": "messages", "chosen": "chosen", "rejected": "rejected"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
                 "system_tag": "system"}}}), encoding="utf-8")
    lf = LlamaFactory(tmp_path / "lf")
    from llamafactory.hparams import ModelArguments

    data_args = lf._data_args(template="smollm2", dataset="conv", dataset_dir=str(tmp_path), cutoff_len=cutoff,
                              overwrite_cache=True, packing=False)
    template = lf._template(tokenizer, data_args)
    with contextlib.redirect_stdout(io.StringIO()):
        module = lf._get_dataset(template, ModelArguments(model_name_or_path=str(tmp_path / "tok")), data_args,
                                 lf._training_args, stage="rm", tokenizer=tokenizer)
    examples = list(module["train_dataset"])
    assert len(examples) == len(rows)
    encoder = ChatEncoder(tokenizer)
    cut = 0
    for row, example in zip(rows, examples, strict=True):
        enc = encoder.encode({"kind": "preference", "messages": row["messages"], "chosen": [row["chosen"]],
                              "rejected": [row["rejected"]]})
        assert enc.chosen is not None and enc.rejected is not None
        prompt = enc.turns[0].source
        s, t = infer_seqlen(prompt, max(enc.chosen.target, enc.rejected.target), cutoff)
        assert len(example["chosen_input_ids"]) == s + min(enc.chosen.target, t)
        assert len(example["rejected_input_ids"]) == s + min(enc.rejected.target, t)
        cut += t < max(enc.chosen.target, enc.rejected.target)
    assert cut > 0  # the sample exercises the cut
