"""The ``dedup_semantic`` step: groups of records whose embeddings are within cosine distance ``eps``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from datamill.errors import StepError
from datamill.records import Record
from datamill.steps.base import ShardSignatures
from datamill.steps.dedup.cache import EmbeddingCache, text_key
from datamill.steps.dedup.components import components
from datamill.steps.dedup.embed import (
    DEFAULT_MODEL,
    Embedder,
    EndpointEmbedder,
    LocalEmbedder,
    encode_with_local_model,
)
from datamill.steps.dedup.graph import Mode, cosine, eps_edges
from datamill.steps.dedup.group_step import GroupDedup
from datamill.steps.dedup.groups import Grouping, Members, preview
from datamill.steps.dedup.keep import priority
from datamill.steps.dedup.params import DedupParams, compared_text, parts_of
from datamill.steps.dedup.shingles import script_language
from datamill.steps.dedup.static import PREFIX as STATIC_PREFIX
from datamill.steps.dedup.static import StaticEmbedder
from datamill.steps.dedup_exact import check_compared

#: (text, language, id, source, survivor priority, preview)
SemanticSignature = tuple[str, str, str, str, float, str]
REASON = "duplicate_semantic"
GUARD_SAMPLE = 256


class DedupSemanticParams(DedupParams):
    eps: float = Field(
        default=0.1, gt=0, lt=1,
        description="cosine distance (1 - cosine similarity) at or below which two records are duplicates; "
        "seed 001 tuned ~0.2 for jina-embeddings-v3; MiniLM puts paraphrases at 0.05-0.15",
    )
    model: str = Field(
        default=DEFAULT_MODEL,
        description="sentence-transformers model: 'default' (bundled all-MiniLM-L6-v2, English), a local path, "
        "or a hub name already in the local cache (e.g. BAAI/bge-m3), loaded offline; 'static:<folder>' for "
        "static embeddings distilled from a model (`datamill dedup-static`, ~100x faster on CPU)",
    )
    models: dict[str, str] = Field(
        default_factory=dict,
        description="per-language model overrides, e.g. {zh: /models/bge-m3}; languages from `lang` or the script",
    )
    endpoint: str | None = Field(
        default=None, description="OpenAI-compatible base URL (http://host:8000/v1): embed there instead of locally"
    )
    api_key_env: str | None = Field(default="OPENAI_API_KEY", description="environment variable of the API key")
    device: str = Field(default="auto", description="auto, cpu, cuda, mps")
    batch_size: int = Field(default=64, ge=1, description="texts per model call (sorted by length first)")
    max_unk_ratio: float = Field(
        default=0.05, ge=0, le=1,
        description="largest share of unknown tokens a model may turn a language into before the guard acts",
    )
    on_unsupported: Literal["error", "skip"] = Field(
        default="error",
        description="when a model cannot represent a language: error (stop), or skip (keep those records "
        "unmodified, with a warning in the report)",
    )
    mode: Mode = Field(
        default="exact", description="exact: every pair (tiled BLAS, n^2/2 dot products); clustered: k-means "
        "cells first, pairs only inside nearby cells (for millions; can only miss pairs)"
    )
    nlist: int | None = Field(default=None, ge=1, description="clustered: number of k-means cells "
                                "(default 2*sqrt(n): 2,000 at 1M, where 1M x 384 took 103 s and 2 GB on 2 cores)")
    nprobe: int = Field(default=4, ge=1, description="clustered: nearest cells each record is a member of "
                        "(1 = SemDeDup); 4 kept 0.997-1.0 of the exact graph's pairs at 20k-1M")
    cache: bool = Field(default=True, description="cache vectors by content hash in WORKDIR/cache/embeddings/")


class DedupSemantic(GroupDedup[DedupSemanticParams, SemanticSignature]):
    """Drop records whose embedding is within cosine distance ``eps`` of a kept record's (transitively).

    Signature phase: the ``on`` text (not normalized: the model sees what the trainer will see) and its
    language (the record's ``lang`` if set, else from the script: zh/ja/ko/other). Reduce: each
    language is embedded by its model (``models`` overrides ``model`` per language), in batches sorted
    by length, with vectors cached by content hash in ``cache/embeddings/`` of the work directory
    (reused by later runs and resumes). Duplicates are the connected components of the graph joining
    records with cosine distance <= ``eps`` (every pair once, in tiled BLAS products): the same groups as
    scikit-learn ``DBSCAN(metric='cosine', eps, min_samples=1)``, in a fraction of the time and memory;
    records of different models are never compared. ``mode: clustered`` compares records only inside
    nearby k-means cells (faiss k-means; for millions of records).

    The guard: before embedding, the unknown-token share of each language under its model is measured
    on up to 256 texts. Above ``max_unk_ratio`` (MiniLM turns ~36% of Chinese tokens into [UNK], and
    then unrelated Chinese prompts look alike and collapse into one giant cluster) the step stops
    (``on_unsupported: error``) or keeps that language's records untouched (``skip``), and says so in
    the report (``languages``: records, model, unk_ratio, status per language).

    Removed records go to dropped with reason ``duplicate_semantic`` and detail ``{duplicate_of,
    similarity (cosine), cluster}``. Writes ``clusters.json``, ``labels.csv``, ``summary.csv``.

    Embedding: ``endpoint`` (an OpenAI-compatible URL, with the key in the variable named by ``api_key_env``)
    instead of a local model, ``device`` (auto picks CUDA/MPS when present) and ``batch_size`` (64 texts per
    call). The clustered mode's ``nlist`` (k-means cells, default 2*sqrt(n)) and ``nprobe`` (cells each record
    joins, 4) trade speed for recall.
    """

    reason: ClassVar[str] = REASON
    name: ClassVar[str] = "dedup_semantic"
    Params = DedupSemanticParams

    def __init__(self, params: DedupSemanticParams) -> None:
        super().__init__(params)
        self._parts = parts_of(params.on)

    def signature(self, record: Record) -> SemanticSignature:
        text = compared_text(record, self._parts, None).strip()
        lang = str(record.get("lang") or script_language(text))
        return (text, lang, str(record.get("id")), str(record.get("source") or ""),
                priority(self.params.keep, record), preview(text))

    def _embedder(self, model: str) -> Embedder:
        p = self.params
        if p.endpoint:
            return EndpointEmbedder(p.endpoint, model, p.api_key_env, p.batch_size)
        if model.startswith(STATIC_PREFIX):
            return StaticEmbedder(model)
        return LocalEmbedder(model, p.device, p.batch_size)

    def groups(self, shards: Iterator[ShardSignatures[Any]]) -> Grouping:
        """Every record's bookkeeping, its group label, and the pairwise cosine (used by check_leakage)."""
        p = self.params
        members = Members()
        texts: list[str] = []
        langs: list[str] = []
        for shard in shards:
            sigs = shard.signatures
            members.add(shard.shard, [s[2] for s in sigs], [s[3] for s in sigs], [s[4] for s in sigs],
                        [s[5] for s in sigs])
            texts.extend(s[0] for s in sigs)
            langs.extend(s[1] for s in sigs)
        n = members.n
        check_compared(self.name, p.on, n, sum(1 for t in texts if t))
        by_model: dict[str, list[int]] = defaultdict(list)
        lang_counts = Counter(lang for lang, t in zip(langs, texts, strict=True) if t)
        languages: dict[str, dict[str, Any]] = {}
        for lang in sorted(lang_counts):
            languages[lang] = {"records": lang_counts[lang], "model": p.models.get(lang, p.model)}
        embedders: dict[str, Embedder] = {}
        for lang, info in languages.items():
            model = info["model"]
            embedder = embedders.setdefault(model, self._embedder(model))
            sample = [t for t, lg in zip(texts, langs, strict=True) if t and lg == lang][:GUARD_SAMPLE]
            ratio = embedder.unk_ratio(sample)
            info["unk_ratio"] = None if ratio is None else round(ratio, 4)
            if ratio is not None and ratio > p.max_unk_ratio:
                message = (f"model '{model}' turns {ratio:.0%} of the {lang} tokens into unknown tokens "
                           f"(limit {p.max_unk_ratio:.0%}); its vectors would merge unrelated {lang} records")
                if p.on_unsupported == "error":
                    raise StepError(message, hint=f"name a model that covers {lang} in `models: {{{lang}: ...}}` "
                                    "(e.g. BAAI/bge-m3), or set on_unsupported: skip to keep those records")
                info["status"] = "skipped"
                info["warning"] = message + "; kept without semantic dedup"
                continue
            info["status"] = "embedded"
        for i, (t, lang) in enumerate(zip(texts, langs, strict=True)):
            if t and languages[lang]["status"] == "embedded":
                by_model[languages[lang]["model"]].append(i)

        # each model's vectors stay in their own block (dimensions differ); pairs never cross blocks
        block_of = np.full(n, -1, dtype=np.int64)
        row_of = np.full(n, -1, dtype=np.int64)
        a_parts: list[np.ndarray] = []
        b_parts: list[np.ndarray] = []
        embed_stats: dict[str, Any] = {}
        blocks: list[np.ndarray] = []
        for model, positions in sorted(by_model.items()):
            vecs, stats = self._embed(embedders[model], [texts[i] for i in positions])
            embed_stats[model] = stats
            pos = np.asarray(positions, dtype=np.int64)
            a, b = eps_edges(vecs, p.eps, p.mode, p.nlist, p.nprobe)
            a_parts.append(pos[a])
            b_parts.append(pos[b])
            block_of[pos] = len(blocks)
            row_of[pos] = np.arange(len(pos))
            blocks.append(vecs)
        a = np.concatenate(a_parts) if a_parts else np.zeros(0, dtype=np.int64)
        b = np.concatenate(b_parts) if b_parts else np.zeros(0, dtype=np.int64)
        labels = components(n, a, b)

        def similarity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            out = np.zeros(len(x), dtype=np.float32)
            for k, vecs in enumerate(blocks):
                sel = block_of[x] == k
                out[sel] = cosine(vecs, row_of[x[sel]], row_of[y[sel]])
            return out

        extra: dict[str, Any] = {"eps": p.eps, "mode": p.mode, "languages": languages, "embedding": embed_stats,
                 "edges": len(a)}
        warnings = [info["warning"] for info in languages.values() if "warning" in info]
        if warnings:
            extra["warnings"] = warnings
        return Grouping(members, labels, similarity, extra)

    def _embed(self, embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
        """Vectors of ``texts``: from the cache where present, the rest embedded longest-first in batches."""
        import time

        cache_dir = self.context.cache_dir / "embeddings" if self.context is not None else None
        cache = EmbeddingCache(cache_dir if self.params.cache else None, embedder.key)
        keys = [text_key(t) for t in texts]
        unique = dict.fromkeys(keys)
        found = cache.get_many(list(unique))
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        order = sorted(todo, key=lambda k: -len(todo[k]))  # similar lengths share a batch: less padding
        started = time.perf_counter()
        step = max(self.params.batch_size * 16, 1)
        chunks = [order[start:start + step] for start in range(0, len(order), step)]
        parallel = self.context.parallel if self.context is not None else None
        spread = parallel is not None and isinstance(embedder, LocalEmbedder) and len(chunks) > 1
        window = max(self.context.workers, 1) * 2 if spread and self.context is not None else 1
        for first in range(0, len(chunks), window):  # commit to the cache every few batches
            group = chunks[first:first + window]
            if spread and parallel is not None and isinstance(embedder, LocalEmbedder):
                # the same batches (longest first) on the run's workers: each loads the model once
                results = parallel(encode_with_local_model, [
                    (embedder.name, embedder.device, embedder.batch_size, [todo[k] for k in chunk])
                    for chunk in group])
            else:
                results = [embedder.encode([todo[k] for k in chunk]) for chunk in group]
            for chunk, vecs in zip(group, results, strict=True):
                cache.put_many(chunk, vecs)
                found.update(zip(chunk, vecs, strict=True))
        seconds = time.perf_counter() - started
        cache.close()
        matrix = np.stack([found[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, 1), np.float32)
        stats = {"texts": len(texts), "unique": len(unique), "from_cache": len(unique) - len(todo),
                 "embedded": len(todo), "seconds": round(seconds, 3),
                 "per_second": round(len(todo) / seconds, 1) if todo and seconds else None,
                 "processes": self.context.workers if spread and self.context is not None else 1}
        return matrix, stats
