"""Detection and conversion over the real corpora in ``../shared/corpora`` (skipped when absent).

For every JSON / JSON Lines / text file: detection on its first 200 rows must pick the expected
format (or refuse, for files that are not training examples), and ``to_record`` must succeed for every
row except the listed ones, each with its reason: no row is lost without one. A row whose answer is
empty is not quarantined: it becomes a record with an empty final assistant turn (filters drop it
later with a reason), and only those rows may. The files are parsed
here with plain ``json`` (the io layer is tested on its own).
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from datamill.errors import FormatDetectionError
from datamill.formats import AdapterConfig, AdapterError, adapter_for_hint, detect_format, get_adapter
from datamill.formats.canonical import validate_record

CORPORA = Path(os.environ.get("DATAMILL_CORPORA", Path(__file__).resolve().parents[3] / "shared" / "corpora"))
pytestmark = pytest.mark.skipif(
    not CORPORA.is_dir(),
    reason=f"real corpora not found at {CORPORA} (set DATAMILL_CORPORA to run these tests)",
)
SAMPLE = 200


@dataclass(frozen=True)
class Case:
    path: str
    format: str  # the adapter that reads the file
    kinds: frozenset[str]
    fields: dict[str, str] | None = None  # the recipe's fields: when detection needs them
    detectable: bool = True  # False: not training examples; detection must refuse and ask for format:
    failures: dict[str, int] = field(default_factory=dict)  # quarantine reason -> rows
    empty: tuple[str, int] | None = None  # (answer column, rows where it is blank): empty-answer records


def case(path: str, fmt: str, *kinds: str, **kw: Any) -> Case:
    return Case(path, fmt, frozenset(kinds), **kw)


CASES = [
    case("1_alpaca_en_sample/alpaca_data_sample.json", "alpaca", "sft", empty=("output", 3)),
    case("1_alpaca_zh_carbonz0/zh-data-part-00.json", "alpaca", "sft", empty=("output", 6)),
    case("1_stanford_alpaca/seed_tasks.jsonl", "alpaca", "sft"),
    case("2_fastchat_sharegpt/dummy_conversation.json", "sharegpt", "sft", "chat"),
    case(
        "2_fastchat_sharegpt/question.jsonl", "raw", "raw", detectable=False
    ),  # MT-bench prompts, no answers
    case("2_llamafactory/alpaca_en_demo.json", "alpaca", "sft"),
    case("2_llamafactory/alpaca_zh_demo.json", "alpaca", "sft"),
    case("2_llamafactory/c4_demo.jsonl", "text", "pretrain"),
    case("2_llamafactory/dpo_zh_demo.json", "sharegpt", "preference"),
    case("2_llamafactory/glaive_toolcall_en_demo.json", "sharegpt", "sft", "chat"),
    case("2_llamafactory/glaive_toolcall_zh_demo.json", "sharegpt", "sft", "chat"),
    case("2_llamafactory/identity.json", "alpaca", "sft"),
    case("2_llamafactory/kto_en_demo.json", "openai", "preference"),
    case("2_llamafactory/mllm_audio_demo.json", "openai", "sft"),
    case("2_llamafactory/mllm_demo.json", "openai", "chat"),
    case("2_llamafactory/mllm_video_audio_demo.json", "openai", "sft"),
    case("2_llamafactory/mllm_video_demo.json", "openai", "sft"),
    case("2_llamafactory/reason_tool_use_demo_50.jsonl", "openai", "cot"),
    case("2_llamafactory/v1_dpo_demo.jsonl", "openai", "preference"),
    case("2_llamafactory/v1_multimodal_demo.jsonl", "openai", "chat"),
    case("2_llamafactory/v1_sft_demo.jsonl", "openai", "sft"),
    case("2_llamafactory/wiki_demo.txt", "text", "pretrain"),
    case("3_medicalgpt_dpo_zh/toolcall_dpo_zh_demo.jsonl", "sharegpt", "preference"),
    case("3_ultrafeedback_subset/eval_clean.jsonl", "openai", "preference"),
    case("4_ascend_arith_zh/test-v2.json", "qa", "sft"),
    case("4_gsm8k/example_model_solutions.jsonl", "qa", "sft"),  # guessed: question / ground_truth
    case("4_gsm8k/test.jsonl", "qa", "sft"),
    case("4_gsm8k/test_socratic.jsonl", "qa", "sft"),
    case("4_gsm8k/train.jsonl", "qa", "sft"),
    case("5_chatdoctor/chatdoctor5k.json", "alpaca", "sft"),
    case("5_medicalgpt/medical_corpus.txt", "qa", "sft"),
    case("5_medicalgpt/medical_sft_1K_format.jsonl", "sharegpt", "sft"),
    case("5_medicalgpt/seed_nurse_role.jsonl", "raw", "raw", detectable=False),  # role-play system prompts
    case("5_medicalgpt/seed_patient_role.jsonl", "raw", "raw", detectable=False),
    case("6_evol_ruozhiba/gpt4_ruozhiba_v2.txt", "qa", "sft", empty=("answer", 16)),
    case("6_evol_ruozhiba/source_ruozhiba.jsonl", "alpaca", "sft"),
    case("8_html_article_benchmark/ground-truth.json", "text", "pretrain", fields={"text": "articleBody"}),
    case("8_medicalgpt_pretrain/en_article_tail500.txt", "text", "pretrain"),
    case("8_medicalgpt_pretrain/fever.txt", "text", "pretrain"),
    case("8_medicalgpt_pretrain/tianlongbabu.txt", "text", "pretrain"),
]
NOT_ROWS = {"2_llamafactory/dataset_info.json"}  # a registry of datasets, tested through adapter_for_hint


def load_rows(path: Path) -> list[Any]:
    """JSON array, JSON object of objects (key kept as ``key``), JSON Lines, or text lines."""
    text = path.read_text(encoding="utf-8-sig")
    head = text.lstrip()[:1]
    if path.suffix == ".txt" and head != "{":
        return [{"text": line} for line in text.splitlines() if line.strip()]
    if head in "[{":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list):
            return data
        if isinstance(data, dict):
            return [
                {"key": k, **v} if isinstance(v, dict) else {"key": k, "value": v} for k, v in data.items()
            ]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def has_empty_answer(record: dict[str, Any]) -> bool:
    """The record's final assistant turn says nothing (no text, reasoning or tool calls)."""
    last = (record.get("messages") or [{}])[-1]
    content = last.get("content")
    return (
        last.get("role") == "assistant"
        and isinstance(content, str)
        and not content.strip()
        and not last.get("reasoning")
        and not last.get("tool_calls")
    )


def test_the_table_covers_every_json_and_text_file() -> None:
    present = {
        str(p.relative_to(CORPORA)) for p in CORPORA.glob("*/*") if p.suffix in (".json", ".jsonl", ".txt")
    }
    assert present - NOT_ROWS == {c.path for c in CASES}


@pytest.mark.parametrize("c", CASES, ids=[c.path for c in CASES])
def test_detection(c: Case) -> None:
    sample = load_rows(CORPORA / c.path)[:SAMPLE]
    if c.fields is None and c.detectable:
        detection = detect_format(sample)
        assert detection.format == c.format, detection.candidates
        assert detection.confidence >= 0.5
        return
    with pytest.raises(FormatDetectionError, match="could not recognise"):
        detect_format(sample)
    if c.fields is not None:
        assert detect_format(sample, AdapterConfig(fields=c.fields)).format == c.format


@pytest.mark.parametrize("c", CASES, ids=[c.path for c in CASES])
def test_every_row_converts_or_has_a_reason(c: Case) -> None:
    rows = load_rows(CORPORA / c.path)
    adapter = get_adapter(c.format, AdapterConfig(fields=c.fields or {}))
    kinds: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    empty_column, empty_rows = c.empty or (None, 0)
    empties = 0
    for row in rows:
        try:
            record = adapter.to_record(row)
        except AdapterError as exc:
            failures[str(exc)] += 1
            continue
        validate_record(record)
        kinds[record["kind"]] += 1
        blank = empty_column is not None and not (row.get(empty_column) or "").strip()
        assert has_empty_answer(record) == blank, row
        if blank:
            assert record["messages"][-1] == {"role": "assistant", "content": row[empty_column]}
            empties += 1
    assert dict(failures) == c.failures
    assert empties == empty_rows
    assert set(kinds) == c.kinds
    assert sum(kinds.values()) + sum(failures.values()) == len(rows)


def test_dataset_info_entries_read_their_files() -> None:
    info = json.loads((CORPORA / "2_llamafactory/dataset_info.json").read_text(encoding="utf-8"))
    read = 0
    for name, entry in info.items():
        adapter = adapter_for_hint(entry)  # every entry, local or hub, must configure an adapter
        path = CORPORA / "2_llamafactory" / entry.get("file_name", "-")
        if not path.is_file():
            continue
        for row in load_rows(path):
            validate_record(adapter.to_record(row))
        read += 1
        assert adapter.name == {"wiki_demo": "text", "c4_demo": "text"}.get(
            name, entry.get("formatting", "alpaca")
        )
    assert read >= 10


def test_mqm_annotations_are_raw_rows() -> None:
    with (CORPORA / "7_wmt_mqm/mqm_ted_zhen.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:SAMPLE]
    with pytest.raises(FormatDetectionError, match=r"raw 0\.10"):
        detect_format(rows)
    raw = get_adapter("raw")
    assert all(raw.to_record(row) == {"kind": "raw", "meta": row} for row in rows)
