"""Token lengths of the final records with a given tokenizer, against a training cutoff.

Unlike the rest of the report this reads the final records (a tokenizer is chosen when the report is
made, not during the run); the result is kept in ``report/tokens-<key>.json`` keyed by the last stage's
fingerprint, the tokenizer and the cutoff, so it is computed once per run and tokenizer. Lengths count
the content of every turn (what :func:`datamill.report.profile.total_chars` counts) without the chat
template's special tokens, which add a few per turn.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamill.errors import require
from datamill.records import _content_text
from datamill.report.profile import NO_SPLIT
from datamill.report.sketches import LengthHist, bin_range

BATCH = 1024
#: LLaMA-Factory's default cutoff_len
DEFAULT_CUTOFF = 2048


def recipe_cutoff(run_dir: Path) -> tuple[int, str] | None:
    """The training cutoff the run's recipe (``recipe.lock.yaml``) sets, and where it comes from: ``train:``'s
    ``cutoff_len`` (the block's default when it leaves it out: what it trains with), else the first output
    ``check:``'s limit (its ``cutoff_len``, else the trainer's default). ``None`` when the recipe has neither."""
    import yaml

    from datamill.handoff.trainers import DEFAULT_LIMIT
    from datamill.train.spec import TrainSpec

    lock = run_dir / "recipe.lock.yaml"
    recipe = yaml.safe_load(lock.read_text(encoding="utf-8")) if lock.is_file() else None
    if not isinstance(recipe, dict):
        return None
    train = recipe.get("train")
    if isinstance(train, dict):
        value = train.get("cutoff_len", TrainSpec.model_fields["cutoff_len"].default)
        if isinstance(value, int):
            return value, "train.cutoff_len"
    for i, output in enumerate(recipe.get("outputs") or []):
        check = output.get("check") if isinstance(output, dict) else None
        if isinstance(check, dict):
            value = check.get("cutoff_len") or DEFAULT_LIMIT.get(str(check.get("backend", "llamafactory")))
            if isinstance(value, int):
                return value, f"outputs[{i}].check"
    return None


def trainer_text(record: dict[str, Any]) -> str:
    parts = []
    for key in ("messages", "chosen"):
        for m in record.get(key) or ():
            if isinstance(m, dict):
                parts.append(_content_text(m.get("content")))
                if m.get("reasoning"):
                    parts.append(str(m["reasoning"]))
    if isinstance(record.get("text"), str):
        parts.append(record["text"])
    return "\n".join(parts)


def load_tokenizer(name: str) -> Callable[[list[str]], list[int]]:
    """Token counts of texts: a ``tokenizer.json`` (file or folder) through ``tokenizers``, else a Hugging
    Face tokenizer name or path through ``transformers``."""
    path = Path(name)
    file = path / "tokenizer.json" if path.is_dir() else path
    if file.is_file() and file.suffix == ".json":
        tokenizers: Any = require("tokenizers", "embeddings", "token lengths in the report")
        tok = tokenizers.Tokenizer.from_file(str(file))
        return lambda texts: [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]
    transformers: Any = require("transformers", "embeddings", "token lengths in the report")
    hf = transformers.AutoTokenizer.from_pretrained(name)
    return lambda texts: [len(ids) for ids in hf(texts, add_special_tokens=False)["input_ids"]]


def _hist(h: LengthHist) -> dict[str, Any]:
    return {"n": h.n, "p50": round(h.quantile(0.5)), "p99": round(h.quantile(0.99)), "max": h.max,
            "bins": [[round(bin_range(b)[0], 2), round(bin_range(b)[1], 2), c] for b, c in sorted(h.bins.items())]}


def token_lengths(stage: Path, tokenizer: str, cutoff: int, cache_dir: Path) -> dict[str, Any]:
    """Histograms of token lengths per split and kind, and the exact count over ``cutoff``."""
    from datamill.exec.shards import read_shard
    from datamill.exec.workdir import fingerprint

    success = stage / "_SUCCESS"
    key = fingerprint(success.read_text() if success.exists() else str(stage), tokenizer, cutoff)[:16]
    cache = cache_dir / f"tokens-{key}.json"
    if cache.is_file():
        data: dict[str, Any] = json.loads(cache.read_text(encoding="utf-8"))
        return data
    count = load_tokenizer(tokenizer)
    hists: dict[tuple[str, str], LengthHist] = {}
    over: Counter[tuple[str, str]] = Counter()

    def flush(batch: list[dict[str, Any]]) -> None:
        for record, n in zip(batch, count([trainer_text(r) for r in batch]), strict=True):
            group = (NO_SPLIT if record.get("split") is None else str(record["split"]), str(record.get("kind") or "?"))
            hists.setdefault(group, LengthHist()).add(n)
            if n > cutoff:
                over[group] += 1

    batch: list[dict[str, Any]] = []
    for shard in sorted(stage.glob("*.jsonl.zst")):
        for record in read_shard(shard):
            batch.append(record)
            if len(batch) >= BATCH:
                flush(batch)
                batch = []
    if batch:
        flush(batch)
    result = {
        "tokenizer": tokenizer, "cutoff": cutoff, "n": sum(h.n for h in hists.values()), "over": sum(over.values()),
        "groups": [{"split": s, "kind": k, "over": over[(s, k)], **_hist(h)} for (s, k), h in sorted(hists.items())],
        "note": "tokens of every turn's content, without the chat template (which adds a few per turn); the "
                "count over the cutoff is exact",
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result, ensure_ascii=False) + "\n", encoding="utf-8")
    return result
