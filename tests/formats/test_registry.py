from __future__ import annotations

from typing import Any

import pytest

from datamill.errors import FormatDetectionError, RecipeError
from datamill.formats import (
    ADAPTERS,
    AdapterConfig,
    adapter_for_hint,
    adapter_names,
    detect_format,
    get_adapter,
)


def test_names_and_lookup() -> None:
    assert adapter_names() == [
        "canonical", "alpaca", "sharegpt", "openai", "firefly", "helpsteer", "arena", "hh", "traces", "ranked",
        "pairwise", "text", "qa", "raw",
    ]
    for name in adapter_names():
        assert get_adapter(name).name == name
    assert {"canonical", "alpaca", "sharegpt", "openai", "text", "raw"} <= set(adapter_names())


def test_unknown_adapter_lists_the_known_ones() -> None:
    with pytest.raises(RecipeError, match=r"unknown record format 'alpca'.*known: canonical, alpaca") as info:
        get_adapter("alpca")
    assert info.value.hint == "did you mean alpaca?"


def test_every_adapter_is_documented() -> None:
    for cls in ADAPTERS:
        assert cls.description and cls.__doc__


M = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]

DETECT: list[tuple[str, list[Any], dict[str, Any], str]] = [
    ("alpaca", [{"instruction": "q", "input": "", "output": "a"}], {}, "alpaca"),
    ("alpaca beats qa's instruction/output guess", [{"instruction": "q", "output": "a"}], {}, "alpaca"),
    (
        "sharegpt",
        [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}],
        {},
        "sharegpt",
    ),
    ("openai", [{"messages": M}], {}, "openai"),
    ("canonical beats openai", [{"kind": "sft", "messages": M, "id": "x:1"}], {}, "canonical"),
    ("canonical pretrain beats text", [{"kind": "pretrain", "text": "t"}], {}, "canonical"),
    ("firefly", [{"conversation": [{"human": "q", "assistant": "a"}]}], {}, "firefly"),
    ("text", [{"text": "doc"}], {}, "text"),
    ("qa", [{"question": "q", "answer": "a"}], {}, "qa"),
    ("trl preference", [{"prompt": "q", "chosen": "a", "rejected": "b"}], {}, "openai"),
    ("a few broken rows do not matter", [{"question": "q", "answer": "a"}] * 9 + ["junk"], {}, "qa"),
    ("fields choose qa", [{"q": "x", "a": "y"}], {"fields": {"prompt": "q", "answer": "a"}}, "qa"),
    (
        "fields choose qa over alpaca",
        [{"instruction": "x", "output": "y"}],
        {"fields": {"prompt": "instruction", "answer": "output"}},
        "qa",
    ),
    ("fields.text chooses text", [{"body": "x", "url": "u"}], {"fields": {"text": "body"}}, "text"),
    (
        "fields.messages chooses a conversation format",
        [{"dialog": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}],
        {"fields": {"messages": "dialog"}},
        "sharegpt",
    ),
    (
        "tags make sharegpt beat openai on role/content turns",
        [{"messages": M}],
        {"options": {"tags": {"role_tag": "role", "content_tag": "content"}}},
        "sharegpt",
    ),
]


@pytest.mark.parametrize(("rows", "config", "expected"), [d[1:] for d in DETECT], ids=[d[0] for d in DETECT])
def test_detect(rows: list[Any], config: dict[str, Any], expected: str) -> None:
    detection = detect_format(rows, AdapterConfig(**config))
    assert detection.format == expected
    assert detection.confidence >= 0.5
    assert detection.sampled == len(rows)
    assert detection.confidence == detection.candidates[expected]
    assert expected in detection.describe()


def test_detection_reports_fields_and_candidates() -> None:
    detection = detect_format([{"question": "q", "answer": "a", "extra": 1}] * 3)
    assert detection.fields == ["question", "answer"]
    assert detection.confidence == 0.6
    assert detection.candidates["qa"] == 0.6 and detection.candidates["raw"] == 0.1
    assert next(iter(detection.candidates)) == "qa"


def test_low_confidence_lists_candidates_and_hints() -> None:
    with pytest.raises(FormatDetectionError, match=r"could not recognise .* \(candidates: raw 0\.10") as info:
        detect_format([{"question_id": 1, "turns": ["q"]}])
    assert info.value.hint is not None and "format:" in info.value.hint and "fields:" in info.value.hint


def test_non_dict_rows_score_zero() -> None:
    with pytest.raises(FormatDetectionError, match="could not recognise"):
        detect_format(["a", "b", {"question": "q", "answer": "a"}])
    with pytest.raises(FormatDetectionError, match="no rows"):
        detect_format([])


def test_ambiguous_when_equally_specific_formats_tie() -> None:
    row = {"instruction": "q", "input": "", "output": "a", "conversations": [{"from": "human", "value": "q"}]}
    with pytest.raises(FormatDetectionError, match=r"ambiguous record format: sharegpt 1\.00, alpaca 0\.95"):
        detect_format([row])


def test_mapping_for_another_format_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError, match="unknown part"):
        detect_format([{"x": 1}], AdapterConfig(fields={"nonsense": "x"}))


def test_mapped_columns_missing_is_low_confidence() -> None:
    with pytest.raises(FormatDetectionError, match=r"with columns x \(number\) \(candidates: none\)"):
        detect_format([{"x": 1}], AdapterConfig(fields={"prompt": "q", "answer": "a"}))


HINTS: list[tuple[dict[str, Any], str, dict[str, Any], dict[str, Any]]] = [
    ({"file_name": "alpaca_en_demo.json"}, "alpaca", {"instruction": "q", "input": "", "output": "a"}, {}),
    (
        {"file_name": "x.json", "columns": {"prompt": "question", "response": "answer", "system": "sys"}},
        "alpaca",
        {"question": "q", "answer": "a", "sys": "S"},
        {"messages": [{"role": "system", "content": "S"}, M[0], M[1]]},
    ),
    ({"file_name": "c4_demo.jsonl", "columns": {"prompt": "text"}}, "text", {"text": "doc"}, {"text": "doc"}),
    (
        {
            "file_name": "glaive_toolcall_en_demo.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "tools": "tools"},
        },
        "sharegpt",
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "tools": "[]"},
        {"messages": M},
    ),
    (
        {
            "file_name": "kto_en_demo.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "kto_tag": "label"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
            },
        },
        "sharegpt",
        {"messages": M, "label": False},
        {"kind": "preference", "scores": {"kto_label": False}},
    ),
    (
        {
            "file_name": "dpo_zh_demo.json",
            "ranking": True,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
        },
        "sharegpt",
        {
            "conversations": [{"from": "human", "value": "q"}],
            "chosen": {"from": "gpt", "value": "a"},
            "rejected": "b",
        },
        {"kind": "preference", "chosen": [M[1]]},
    ),
    (
        {
            "hf_hub_url": "x/y",
            "ranking": True,
            "columns": {"prompt": "instruction", "chosen": "c", "rejected": "r"},
        },
        "alpaca",
        {"instruction": "q", "c": "good", "r": "bad"},
        {"kind": "preference"},
    ),
    ({"formatting": "openai", "columns": {"messages": "msgs"}}, "openai", {"msgs": M}, {"messages": M}),
]


@pytest.mark.parametrize(("hint", "name", "row", "expected"), HINTS)
def test_adapter_for_hint(
    hint: dict[str, Any], name: str, row: dict[str, Any], expected: dict[str, Any]
) -> None:
    adapter = adapter_for_hint(hint)
    assert adapter.name == name
    record = adapter.to_record(row)
    assert {k: record[k] for k in expected} == expected


def test_bad_hints() -> None:
    with pytest.raises(RecipeError, match="unknown formatting 'xml'"):
        adapter_for_hint({"formatting": "xml"})
    with pytest.raises(RecipeError, match="must be objects"):
        adapter_for_hint({"columns": ["prompt"]})
    with pytest.raises(RecipeError, match="must be an object"):
        adapter_for_hint("alpaca")  # type: ignore[arg-type]
