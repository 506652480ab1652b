"""A local Hugging Face causal LM (plus an optional PEFT adapter) that answers prompts greedily, in batches.

The model is found by :mod:`datamill.models` (hub name, folder, ``.gguf``, ``smollm2``). A LoRA adapter is
merged into the weights after loading (generation is then as fast as the base model; the answers equal
the unmerged model's up to float rounding). Prompts are wrapped in the tokenizer's chat template with the
generation prompt (what TRL trains on for conversational data) unless ``chat_template`` is off; a batch
is left-padded and generation stops at the eos token or at the template's end-of-turn token, whichever
the model writes first.

:func:`model_identity` names the weights for the answer cache: the same name means the same weights, so
a resumed evaluation reuses answers and a retrained adapter never does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datamill.errors import InputError, require

#: files whose content identifies an adapter (hashed), and weight files of a model folder (stat only)
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


def adapter_base(adapter: str) -> str | None:
    """The base model an adapter was trained on (``base_model_name_or_path`` of ``adapter_config.json``)."""
    config = Path(adapter) / "adapter_config.json"
    if not config.is_file():
        raise InputError(f"{adapter} is not a PEFT adapter folder (no adapter_config.json)",
                         hint="pass the folder the trainer saved the adapter to (datamill train --out DIR)")
    value = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    return str(value) if value else None


def _stat_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        st = p.stat()
        h.update(f"{p.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]


def _content_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:12]


def model_identity(model: str, adapter: str | None) -> str:
    """``local:<model>@<digest>[+<adapter digest>]``: the base weights by name and file stamps (a GGUF by
    its dequantized cache folder, which is keyed by the file's stamp), the adapter by content."""
    from datamill.models import resolve_model

    ref = resolve_model(model)
    if ref.kind == "gguf":
        base = f"gguf:{Path(ref.location).name}"
    elif ref.kind == "folder":
        weights = [p for p in Path(ref.location).iterdir() if p.suffix in WEIGHT_SUFFIXES]
        base = f"folder:{Path(ref.location).name}@{_stat_digest(weights or [Path(ref.location) / 'config.json'])}"
    else:
        base = f"hub:{ref.location}@{_hub_revision(ref.location)}"
    if adapter is None:
        return f"local:{base}"
    files = [Path(adapter) / n for n in ADAPTER_FILES if (Path(adapter) / n).is_file()]
    if not files:
        raise InputError(f"{adapter} holds no adapter weights", hint="expected adapter_config.json and "
                         "adapter_model.safetensors (what PEFT's save_pretrained writes)")
    return f"local:{base}+adapter@{_content_digest(files)}"


def _hub_revision(name: str) -> str:
    """The commit of the cached snapshot of a hub model (offline), or ``cached?`` when unknown."""
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(name, local_files_only=True, allow_patterns=["config.json"])
        return Path(folder).name[:12]
    except Exception:  # not cached, or huggingface_hub missing: the name alone
        return "unknown"


@dataclass(frozen=True)
class Generated:
    """One answer: the text, token counts and why it ended (``stop`` at an end token, ``length`` at the cap)."""

    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: str


class LocalModel:
    """A loaded model and tokenizer on one device."""

    def __init__(self, model: Any, tokenizer: Any, *, device: str = "cpu") -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.stop_ids = self._stop_ids()

    @classmethod
    def load(cls, model: str, adapter: str | None = None, *, device: str | None = None) -> LocalModel:
        from datamill.models import load_model, load_tokenizer

        torch: Any = require("torch", "train", "local generation")
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tokenizer = load_tokenizer(model)
        lm = load_model(model, device=device)
        if adapter is not None:
            peft: Any = require("peft", "train", "evaluating a PEFT adapter")
            lm = peft.PeftModel.from_pretrained(lm, adapter).merge_and_unload()
        lm.eval()
        return cls(lm, tokenizer, device=device)

    def _stop_ids(self) -> list[int]:
        from datamill.models import end_of_turn_token

        ids: set[int] = set()
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        for value in (eos if isinstance(eos, list) else [eos]):
            if isinstance(value, int):
                ids.add(value)
        for token in (self.tokenizer.eos_token, end_of_turn_token(self.tokenizer)):
            if token:
                token_id = self.tokenizer.convert_tokens_to_ids(token)
                if isinstance(token_id, int) and token_id != self.tokenizer.unk_token_id:
                    ids.add(token_id)
        return sorted(ids)

    def prompt_text(self, messages: list[dict[str, str]], chat_template: bool) -> str:
        """What the model reads: the chat template with the generation prompt, or the contents joined."""
        if chat_template and getattr(self.tokenizer, "chat_template", None):
            return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        return "\n".join(m["content"] for m in messages)

    def encode(self, prompts: list[str], chat_template: bool) -> list[list[int]]:
        out = self.tokenizer(prompts, add_special_tokens=not chat_template)["input_ids"]
        return [list(ids) for ids in out]

    def generate(self, prompt_ids: list[list[int]], max_new_tokens: int) -> list[Generated]:
        """Greedy answers for a batch of tokenized prompts (left-padded together)."""
        torch: Any = require("torch", "train", "local generation")
        pad = self.tokenizer.pad_token_id
        width = max(len(ids) for ids in prompt_ids)
        input_ids = torch.full((len(prompt_ids), width), pad, dtype=torch.long)
        attention = torch.zeros((len(prompt_ids), width), dtype=torch.long)
        for row, ids in enumerate(prompt_ids):
            input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention[row, width - len(ids):] = 1
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, temperature=None, top_p=None,
                top_k=None, eos_token_id=self.stop_ids or None, pad_token_id=pad)
        results = []
        stops = set(self.stop_ids)
        for row, ids in enumerate(prompt_ids):
            new = out[row, width:].tolist()
            end = next((i for i, t in enumerate(new) if t in stops), None)
            kept = new if end is None else new[:end]
            text = self.tokenizer.decode(kept, skip_special_tokens=True).strip()
            results.append(Generated(text, len(ids), len(kept) + (0 if end is None else 1),
                                     "length" if end is None else "stop"))
        return results
