"""Static embeddings distilled from a sentence-transformers model: a fast CPU path for semantic dedup.

:func:`build_static` runs the model once per vocabulary token (``[CLS] token [SEP]`` through the
model's own pooling and normalization) and saves the (vocabulary x dim) matrix next to the model's
tokenizer. :class:`StaticEmbedder` then embeds a document as the mean of its tokens' rows (tokens
weighted by ``log(1 + rank)``, so frequent subwords count less; the vocabulary's mean vector
subtracted, so unrelated texts are not all alike), L2-normalized: no transformer at
embedding time, thousands of documents per second on one core. The vectors approximate the model's,
so use them with their own ``eps`` (docs/dedup.md measures recall and precision against the model).

Use it with ``model: static:<folder>`` in ``dedup_semantic``; build the folder with
``datamill dedup-static MODEL OUT`` (any sentence-transformers model, ``default`` = bundled MiniLM).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from datamill.errors import StepError, require

PREFIX = "static:"
_LOADED: dict[str, tuple[Any, np.ndarray, int | None]] = {}


def build_static(model: str, out: Path, batch_size: int = 512) -> dict[str, Any]:
    """Distill ``model`` into ``out`` (``vectors.npy``, ``tokenizer.json``, ``static.json``); returns the info."""
    torch: Any = require("torch", "embeddings", "static embeddings")
    from datamill.steps.dedup.embed import local_model

    st = local_model(model, "cpu")
    tok = st.tokenizer
    cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
    size = len(tok)
    rows: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, size, batch_size):
            ids = torch.arange(start, min(start + batch_size, size)).unsqueeze(1)
            parts = [ids]
            if cls_id is not None:
                parts.insert(0, torch.full_like(ids, cls_id))
            if sep_id is not None:
                parts.append(torch.full_like(ids, sep_id))
            input_ids = torch.cat(parts, dim=1)
            features = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
            if "token_type_ids" in getattr(tok, "model_input_names", []):
                features["token_type_ids"] = torch.zeros_like(input_ids)
            rows.append(st(features)["sentence_embedding"].float().numpy())
    matrix = np.concatenate(rows).astype(np.float32)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "vectors.npy", matrix)
    tok.backend_tokenizer.save(str(out / "tokenizer.json"))
    info = {"source_model": model, "vocab": size, "dim": int(matrix.shape[1]), "unk_token": tok.unk_token,
            "special_ids": sorted(set(tok.all_special_ids))}
    (out / "static.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return info


def _load(folder: str) -> tuple[Any, np.ndarray, int | None]:
    if folder not in _LOADED:
        tokenizers: Any = require("tokenizers", "embeddings", "static embeddings")
        path = Path(folder)
        if not (path / "vectors.npy").exists():
            raise StepError(f"no static embedding model in '{folder}' (vectors.npy missing)",
                            hint="build one with: datamill dedup-static MODEL OUT")
        info = json.loads((path / "static.json").read_text(encoding="utf-8"))
        tok = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        matrix = np.load(path / "vectors.npy")
        # weight log(1 + id): BERT-style vocabularies are roughly frequency-ordered, rare subwords carry more
        weights = np.log1p(np.arange(len(matrix), dtype=np.float32))
        weights[info.get("special_ids", [])] = 0.0
        # remove the direction every token shares: unrelated texts otherwise sit at cosine ~0.8, and
        # centered, eps keeps about the meaning it has for the model (docs/dedup.md)
        matrix = matrix - matrix[weights > 0].mean(axis=0)
        unk = tok.token_to_id(info["unk_token"]) if info.get("unk_token") else None
        _LOADED[folder] = (tok, matrix * weights[:, None], unk)
    return _LOADED[folder]


class StaticEmbedder:
    """``model: static:<folder>``: mean of weighted token vectors, L2-normalized."""

    def __init__(self, name: str) -> None:
        self.folder = name.removeprefix(PREFIX)
        self.tokenizer, self.matrix, self.unk_id = _load(self.folder)
        self.key = f"static:{Path(self.folder).resolve()}"

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        flat = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=int(lengths.sum()))
        out = np.zeros((len(texts), self.matrix.shape[1]), dtype=np.float32)
        has = lengths > 0
        if has.any():
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[has]
            out[has] = np.add.reduceat(self.matrix[flat], starts, axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def unk_ratio(self, texts: list[str]) -> float | None:
        if self.unk_id is None:
            return None
        ids = [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]
        total = sum(len(x) for x in ids)
        return sum(x.count(self.unk_id) for x in ids) / total if total else 0.0
