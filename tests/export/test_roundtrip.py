"""Round trips (hypothesis): canonical record -> exporter row -> JSON -> datamill's reader for that
format -> the same conversation, reasoning, preference pair and KTO label."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datamill.export.registry import build_exporter
from datamill.formats import AdapterConfig, get_adapter
from datamill.formats.registry import adapter_for_hint
from datamill.records import Record
from datamill.steps.base import Drop

TEXT = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(lambda s: bool(s) and "think>" not in s)
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(TEXT)})
    for _ in range(draw(st.integers(1, 3))):
        messages.append({"role": "user", "content": draw(TEXT)})
        messages.append({"role": "assistant", "content": draw(TEXT)})
    if draw(st.booleans()):
        messages[-1]["reasoning"] = draw(TEXT)
    return messages


@st.composite
def records(draw: st.DrawFn, mode: str) -> Record:
    messages = draw(conversations())
    if mode == "sft":
        return {"id": "r:0", "kind": "cot" if "reasoning" in messages[-1] else "sft", "messages": messages}
    if mode == "kto":
        return {"id": "r:0", "kind": "preference", "messages": messages, "scores": {"kto_label": draw(st.booleans())}}
    chosen, rejected = draw(TEXT), draw(TEXT)
    if chosen == rejected:
        rejected += " (other)"
    return {"id": "r:0", "kind": "preference", "messages": messages[:-1],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def _roundtrip(fmt: str, record: Record, reader: Any, options: dict[str, Any] | None = None) -> Record:
    exporter = build_exporter(fmt, options or {}, "outputs[0]")
    row = exporter.convert(record)
    assert not isinstance(row, Drop), row
    entry = getattr(exporter, "entry_body", None)
    adapter = adapter_for_hint(entry()) if entry and reader is None else reader
    result: Record = adapter.to_record(orjson.loads(orjson.dumps(row)))
    return result


def _same(original: Record, back: Record) -> None:
    for key in ("messages", "chosen", "rejected"):
        assert back.get(key) == original.get(key), key
    if "scores" in original:
        assert back["scores"] == original["scores"]


@SETTINGS
@given(record=st.one_of(records("sft"), records("preference"), records("kto")))
def test_llamafactory_alpaca_roundtrip(record: Record) -> None:
    _same(record, _roundtrip("llamafactory-alpaca", record, None))


@SETTINGS
@given(record=st.one_of(records("sft"), records("preference"), records("kto")))
def test_llamafactory_sharegpt_roundtrip(record: Record) -> None:
    _same(record, _roundtrip("llamafactory-sharegpt", record, None))


@SETTINGS
@given(record=records("sft"))
def test_sharegpt_roundtrip(record: Record) -> None:
    back = _roundtrip("sharegpt", record, get_adapter("sharegpt"))
    _same(record, back)
    assert back["meta"] == {"id": "r:0"}


@SETTINGS
@given(record=records("sft"), cot=st.sampled_from(["think_tags", "field"]))
def test_openai_roundtrip(record: Record, cot: str) -> None:
    _same(record, _roundtrip("openai", record, get_adapter("openai"), {"cot": cot}))


@SETTINGS
@given(record=st.one_of(records("sft"), records("preference")))
def test_trl_roundtrip(record: Record) -> None:
    _same(record, _roundtrip("trl", record, get_adapter("openai")))


@SETTINGS
@given(text=st.text(min_size=1).filter(lambda s: bool(s.strip())))
def test_text_jsonl_roundtrip(text: str) -> None:
    record = {"id": "t:0", "kind": "pretrain", "text": text}
    back = _roundtrip("text", record, get_adapter("text", AdapterConfig()), {"jsonl": True})
    assert back["text"] == text
