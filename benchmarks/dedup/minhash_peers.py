"""The peers of the near-dup benchmark, run on the same generated corpus: datasketch and datatrove.

Each returns ``{record id: group label}`` for every record (a record in no group is its own label).
Both get the same text datamill compares (normalized prompt; characters for Chinese, words otherwise),
so the comparison is of the engines, not of the tokenizers.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from datamill.records import Record
from datamill.steps.dedup.params import compared_text
from datamill.steps.dedup.shingles import is_cjk, shingles
from datamill.steps.dedup_exact import Normalize

NORMALIZE = Normalize(punctuation=True)


def run_datasketch(records: list[Record]) -> dict[str, str]:
    """datasketch MinHash (update_batch) + MinHashLSH, query-then-insert: each record joins its first hit."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.7, num_perm=128)
    out: dict[str, str] = {}
    for r in records:
        tokens, _ = shingles(compared_text(r, ["prompt"], NORMALIZE), "auto", 3, 3)
        m = MinHash(num_perm=128)
        m.update_batch([t.encode() for t in tokens])
        hits = lsh.query(m)
        out[r["id"]] = out[min(hits)] if hits else r["id"]
        if not hits:
            lsh.insert(r["id"], m)
    return out


def write_datatrove_input(records: list[Record], folder: Path, files: int = 2) -> None:
    """The corpus as ``files`` JSONL files of {id, text} (datatrove splits work by file)."""
    folder.mkdir(parents=True, exist_ok=True)
    handles = [open(folder / f"part{i}.jsonl", "w", encoding="utf-8") for i in range(files)]  # noqa: SIM115
    for k, r in enumerate(records):
        text = r["messages"][0]["content"]
        handles[k % files].write(json.dumps({"id": r["id"], "text": text}, ensure_ascii=False) + "\n")
    for h in handles:
        h.close()


def _tokenizer() -> Any:
    from datatrove.utils.word_tokenizers import WordTokenizer

    class ScriptTokenizer(WordTokenizer):
        """Characters for Chinese/Japanese, whitespace words otherwise (as datamill's auto mode)."""

        def word_tokenize(self, text: str) -> list[str]:
            return list("".join(text.split())) if is_cjk(text) else text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    return ScriptTokenizer()


def _patch_xxhash() -> None:
    """datatrove 0.10.1 passes str to xxhash, which the installed xxhash (3.x) rejects: encode first (the
    hash datatrove meant, at its speed; sha1, the other choice, would make datatrove slower)."""
    import xxhash
    from datatrove.utils.hashes import xxhash as dt_xxhash

    def xxhash64(data: str | bytes) -> int:
        return int(xxhash.xxh64_intdigest(data.encode() if isinstance(data, str) else data))

    def xxhash32(data: str | bytes) -> int:
        return int(xxhash.xxh32_intdigest(data.encode() if isinstance(data, str) else data))

    dt_xxhash.xxhash64 = xxhash64
    dt_xxhash.xxhash32 = xxhash32


def run_datatrove(input_dir: Path, work: Path, workers: int = 2) -> tuple[float, dict[str, str]]:
    """datatrove's 4-stage MinHash dedup (signature -> buckets -> cluster -> filter) with the local executor:
    (seconds of the 4 stages, groups read from its output afterwards).

    Config: 3-grams, 14 buckets x 8 hashes (112 hashes, datatrove's default layout, threshold ~0.72).
    """
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    _patch_xxhash()
    shutil.rmtree(work, ignore_errors=True)
    config = MinhashConfig(n_grams=3, num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(precision=64))
    files = len(list(input_dir.glob("*.jsonl")))

    def reader() -> Any:
        return JsonlReader(str(input_dir), text_key="text", id_key="id")

    stages = [
        ([reader(), MinhashDedupSignature(str(work / "sigs"), config=config, language=_tokenizer())], files),
        ([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=config)], config.num_buckets),
        ([MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=config, save_cluster_id=True)], 1),
        ([reader(), MinhashDedupFilter(str(work / "remove"), load_cluster_ids=True,
                                       exclusion_writer=JsonlWriter(str(work / "removed"), compression=None)),
          JsonlWriter(str(work / "kept"), compression=None)], files),
    ]
    started = time.perf_counter()
    for i, (pipeline, tasks) in enumerate(stages):
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                              logging_dir=str(work / f"logs{i}"), skip_completed=False).run()
    seconds = time.perf_counter() - started
    out: dict[str, str] = {}
    for sub in ("kept", "removed"):
        for f in (work / sub).glob("*.jsonl"):
            for line in f.read_text(encoding="utf-8").splitlines():
                d = json.loads(line)
                cid = d["metadata"].get("minhash_cluster_id", -1)
                out[d["id"]] = f"c{cid}" if cid != -1 else d["id"]
    return seconds, out

