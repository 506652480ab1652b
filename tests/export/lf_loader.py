"""LLaMA-Factory's own dataset pipeline, offline, with a tiny local tokenizer (no model, no network).

``LlamaFactory.count(dataset_dir, name, stage)`` runs ``llamafactory.data.get_dataset`` on the entry
``name`` of ``dataset_dir/dataset_info.json`` and returns how many examples it yields (after its
converter and its processor, which skip rows they cannot read). LLaMA-Factory imports ``torchaudio``
at module level for its audio plugin only; no torchaudio build exists for torch 2.13 here, so an empty
stand-in module is registered before the import (no audio is ever processed in these tests).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import io
import os
import sys
import types
from pathlib import Path
from typing import Any

SAMPLE_TEXT = [
    "The quick brown fox jumps over the lazy dog. 你好，世界！ 1234567890",
    "<think> </think> {\"name\": \"search\", \"arguments\": {\"q\": 1}} Human: Assistant: system",
]


def available() -> bool:
    return importlib.util.find_spec("llamafactory") is not None and importlib.util.find_spec("tokenizers") is not None


def make_tokenizer(folder: Path) -> Any:
    """A byte-level BPE tokenizer trained here on two lines, wrapped as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(SAMPLE_TEXT, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|pad|>")
    fast.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    fast.save_pretrained(str(folder))
    return PreTrainedTokenizerFast.from_pretrained(str(folder))


class LlamaFactory:
    """Loads exported files through LLaMA-Factory's get_dataset."""

    def __init__(self, work: Path) -> None:
        os.environ.setdefault("DISABLE_VERSION_CHECK", "1")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        os.environ["HF_DATASETS_CACHE"] = str(work / "hf-cache")
        if "torchaudio" not in sys.modules and importlib.util.find_spec("torchaudio") is None:
            stub = types.ModuleType("torchaudio")
            stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
            sys.modules["torchaudio"] = stub
        from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments, ModelArguments
        from transformers import Seq2SeqTrainingArguments

        self.work = work
        self.tokenizer = make_tokenizer(work / "tokenizer")
        self._get_dataset = get_dataset
        self._template = get_template_and_fix_tokenizer
        self._data_args = DataArguments
        self._model_args = ModelArguments(model_name_or_path=str(work / "tokenizer"))
        self._training_args = Seq2SeqTrainingArguments(output_dir=str(work / "out"), report_to=[], do_train=True)
        self.runs = 0

    def count(self, dataset_dir: Path, name: str, stage: str, template: str = "default") -> int:
        """Examples LLaMA-Factory yields for ``name`` at ``stage`` (pt, sft, rm, kto)."""
        self.runs += 1
        data_args = self._data_args(
            template=template, dataset=name, dataset_dir=str(dataset_dir), cutoff_len=1_000_000,
            overwrite_cache=True, packing=False,
        )
        template_obj = self._template(self.tokenizer, data_args)
        with contextlib.redirect_stdout(io.StringIO()):  # it prints a tokenized example
            module = self._get_dataset(template_obj, self._model_args, data_args, self._training_args,
                                       stage=stage, tokenizer=self.tokenizer)
        return len(module["train_dataset"])
