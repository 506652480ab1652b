"""What is evaluated: the prompt messages and the reference answer of each test record.

The data is a file in any format datamill reads (an export for any trainer: ShareGPT, OpenAI messages,
Alpaca, TRL, canonical JSONL, ...; detected like an input), an export folder (the files of one split,
``test`` by default, by file name), or a datamill run directory, whose final records are read and
filtered to one split (``test`` by default; the split step's field). A run
keeps every field (``category``, ``meta.*``), so breakdowns by category need the run or a canonical
export; trainer files usually drop them.

Each record becomes an :class:`EvalItem`: the messages before the last assistant turn are the prompt
(system and earlier turns included), the last assistant turn is the reference. Preference records use
``chosen`` as the reference. Records that cannot be evaluated are counted by reason, never dropped
silently: ``no_prompt`` (pretraining text), ``unreadable`` (rows the reader or format adapter refused),
``undesirable_reference`` (KTO examples labelled false), ``other_split``, ``over_limit``.

Item ids are the records' own ids when every record has a unique one (a canonical export, ShareGPT's
``id``: the same ids as in the run), else row numbers (``file:row`` for several files).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from datamill.errors import InputError
from datamill.records import Record, _content_text, answer_text, get_field, last_assistant_index

DETECT_SAMPLE = 200


@dataclass(frozen=True)
class EvalItem:
    """One test question: ``messages`` are sent to the model, ``reference`` is the expected answer."""

    id: str
    messages: list[dict[str, str]]
    reference: str | None
    record: Record = field(repr=False)

    @property
    def question(self) -> str:
        """The last user turn (what a before/after table shows as the question)."""
        for m in reversed(self.messages):
            if m["role"] == "user":
                return m["content"]
        return self.messages[-1]["content"] if self.messages else ""

    def category(self, path: str) -> list[str]:
        """The values of field ``path`` for breakdowns: a scalar as text, each element of a list, other
        values as JSON; ``(missing)`` when the record has no such field."""
        value = get_field(self.record, path)
        if value is None and "." not in path:  # an original column named like a canonical field stays in meta
            value = get_field(self.record, f"meta.{path}")
        if value is None:
            return ["(missing)"]
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            return [str(v) for v in value] or ["(empty)"]
        if isinstance(value, dict | list):
            return [json.dumps(value, ensure_ascii=False, sort_keys=True)]
        return [str(value)]


@dataclass
class EvalData:
    """The items, where they came from, what was skipped and a fingerprint of what is evaluated."""

    source: str
    split: str | None
    items: list[EvalItem]
    skipped: Counter[str]
    record_format: str | None = None

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for item in self.items:
            h.update(orjson.dumps([item.id, item.messages, item.reference]))
        return h.hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "split": self.split, "format": self.record_format, "items": len(self.items),
                "skipped": dict(sorted(self.skipped.items())), "fingerprint": self.fingerprint}


def to_item(item_id: str, record: Record) -> EvalItem | str:
    """The item of a canonical record, or the reason it cannot be evaluated."""
    messages = record.get("messages") or []
    if not messages:
        return "no_prompt"
    if (record.get("scores") or {}).get("kto_label") is False:
        return "undesirable_reference"  # a KTO example labelled bad: its answer is no reference
    chosen = record.get("chosen")
    end = last_assistant_index(messages)
    if chosen is not None or end is None:
        prompt, reference = messages, (answer_text(record) if chosen else None)
    else:
        prompt, reference = messages[:end], _content_text(messages[end].get("content"))
    sent = [{"role": str(m.get("role")), "content": _content_text(m.get("content"))} for m in prompt]
    if not any(m["role"] == "user" and m["content"].strip() for m in sent):
        return "no_prompt"
    return EvalItem(item_id, sent, reference, record)


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (path / "steps").is_dir() and (path / "recipe.lock.yaml").exists()


def final_stage(run: Path) -> Path:
    """The last finished stage of a run (the records the outputs were written from)."""
    summary = run / "summary.json"
    if summary.exists():
        steps = json.loads(summary.read_text(encoding="utf-8")).get("steps") or []
        if steps:
            return run / "steps" / str(steps[-1]["name"])
    done = sorted(p.parent for p in (run / "steps").glob("*/_SUCCESS"))
    if not done:
        raise InputError(f"the run {run} has no finished stage", hint="run the recipe first")
    return done[-1]


def load_stage(stage: Path, split: str | None = "test", limit: int | None = None,
               source: str | None = None) -> EvalData:
    """The items of one split of the canonical records in a stage folder (``split=None``: every record)."""
    from datamill.exec.shards import SHARD_SUFFIX, read_shard

    items: list[EvalItem] = []
    skipped: Counter[str] = Counter()
    splits: Counter[str] = Counter()
    for shard in sorted(stage.glob(f"*{SHARD_SUFFIX}")):
        for record in read_shard(shard):
            splits[str(record.get("split"))] += 1
            if split is not None and record.get("split") != split:
                skipped["other_split"] += 1
                continue
            if limit is not None and len(items) >= limit:
                skipped["over_limit"] += 1
                continue
            item = to_item(str(record["id"]), record)
            if isinstance(item, str):
                skipped[item] += 1
            else:
                items.append(item)
    where = source or str(stage)
    if not items:
        found = ", ".join(f"{k}: {v}" for k, v in splits.most_common()) or "no records"
        raise InputError(f"no records of split '{split}' to evaluate in {where} (splits: {found})",
                         hint="add a split step to the recipe, or pass --split with one of the splits found")
    return EvalData(where, split, items, skipped, "canonical")


def load_run(run: Path, split: str | None = "test", limit: int | None = None) -> EvalData:
    """The items of one split of a run's final records."""
    return load_stage(final_stage(run), split, limit, source=str(run))


class PromptCompletion:
    """TRL's prompt-completion rows (SFT with the loss on the completion only, and KTO with ``label``):
    ``prompt`` and ``completion`` as text or as message lists. The label of KTO rows is kept in ``meta``."""

    name = "prompt-completion"

    def to_record(self, row: dict[str, Any]) -> Record:
        from datamill.formats.base import AdapterError

        def turns(value: Any, role: str) -> list[dict[str, Any]]:
            if isinstance(value, str):
                return [{"role": role, "content": value}]
            if isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value):
                return [dict(m) for m in value]
            raise AdapterError(f"'{role}' part is neither text nor a list of messages")

        messages = turns(row["prompt"], "user") + turns(row["completion"], "assistant")
        record: Record = {"kind": "sft", "messages": messages,
                          "meta": {k: v for k, v in row.items() if k not in ("prompt", "completion", "label")}}
        if isinstance(row.get("label"), bool):
            record["scores"] = {"kto_label": row["label"]}
        return record


def load_file(path: str, *, split: str | None = None, record_format: str = "auto", limit: int | None = None,
              base_dir: Path | None = None) -> EvalData:
    """The items of a data file (or glob, URL, dataset_info.json) in any record format datamill reads."""
    from datamill.formats.base import AdapterConfig, AdapterError
    from datamill.formats.registry import adapter_for_hint, detect_format, get_adapter
    from datamill.io.read import read_rows
    from datamill.io.sources import expand_input
    from datamill.recipe.model import InputSpec

    files = expand_input(InputSpec(path=path, format=record_format), base_dir or Path.cwd())
    items: list[EvalItem] = []
    skipped: Counter[str] = Counter()
    formats: list[str] = []
    for source in files:
        rows = read_rows(source)
        head = list(itertools.islice(rows, DETECT_SAMPLE))
        sample = [r.value for r in head if r.error is None and isinstance(r.value, dict)]
        adapter: Any
        if record_format != "auto":
            adapter = get_adapter(record_format, AdapterConfig())
        elif source.hint:
            adapter = adapter_for_hint(source.hint)
        elif sample and all("prompt" in r and "completion" in r and "chosen" not in r for r in sample):
            adapter = PromptCompletion()
        else:
            adapter = get_adapter(detect_format(sample).format, AdapterConfig())
        formats.append(adapter.name)
        prefix = f"{source.display}:" if len(files) > 1 else ""
        for n, row in enumerate(itertools.chain(head, rows), start=1):
            if row.error is not None or not isinstance(row.value, dict):
                skipped["unreadable"] += 1
                continue
            try:
                record = adapter.to_record(row.value)
            except AdapterError:
                skipped["unreadable"] += 1
                continue
            own = record.get("id", get_field(record, "meta.id"))
            record["id"] = f"{prefix}{n}"
            if own is not None:
                record["own_id"] = str(own)
            if split is not None and (record.get("split") or get_field(record, "meta.split")) != split:
                skipped["other_split"] += 1
                continue
            if limit is not None and len(items) >= limit:
                skipped["over_limit"] += 1
                continue
            item = to_item(record["id"], record)
            if isinstance(item, str):
                skipped[item] += 1
            else:
                items.append(item)
    own_ids = [item.record.get("own_id") for item in items]
    if all(own_ids) and len(set(own_ids)) == len(own_ids):  # the records' own ids: the same as in their run
        items = [dataclasses.replace(item, id=str(own)) for item, own in zip(items, own_ids, strict=True)]
    if not items:
        raise InputError(f"no record of {path} can be evaluated ({dict(skipped) or 'the input is empty'})",
                         hint="the data needs user turns (a prompt) and, for exact match, an assistant answer")
    return EvalData(path, split, items, skipped, ",".join(sorted(set(formats))))


def load_data(path: str, *, split: str | None = None, record_format: str = "auto", limit: int | None = None,
              base_dir: Path | None = None) -> EvalData:
    """A run directory (its ``split``, default ``test``) or a data file (every record unless ``split``)."""
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if is_run_dir(p):
        return load_run(p, split or "test", limit)
    if p.is_dir() and (p / "steps").is_dir():
        raise InputError(f"{p} looks like an unfinished run (no recipe.lock.yaml)", hint="run the recipe first")
    if p.is_dir() and not (p / "dataset_info.json").is_file():
        return load_folder(p, split or "test", record_format=record_format, limit=limit)
    return load_file(path, split=split, record_format=record_format, limit=limit, base_dir=base_dir)


def load_folder(folder: Path, split: str, *, record_format: str = "auto", limit: int | None = None) -> EvalData:
    """An export folder: the files of one split, by file name (``test.jsonl``, ``test-00001.jsonl``)."""
    from datamill.handoff.source import data_files

    files = [f for f in data_files(folder) if f.split == split]
    if not files:
        found = sorted({f.split for f in data_files(folder)})
        raise InputError(f"{folder} has no '{split}' file (splits by file name: {', '.join(found)})",
                         hint="pass the test file itself, or --split with one of those")
    parts = [load_file(f.path, record_format=record_format) for f in files]
    items = [dataclasses.replace(item, id=f"{Path(f.path).name}:{item.id}") if len(parts) > 1 else item
             for f, part in zip(files, parts, strict=True) for item in part.items]
    skipped: Counter[str] = Counter()
    for part in parts:
        skipped.update(part.skipped)
    if limit is not None and len(items) > limit:
        skipped["over_limit"] += len(items) - limit
        items = items[:limit]
    return EvalData(str(folder), split, items, skipped, ",".join(sorted({p.record_format or "" for p in parts})))
