"""The preference readers (helpsteer, arena, hh, traces, ranked, and openai rows in the UltraFeedback
and TRL implicit-prompt shapes) through the ``trl`` and
``llamafactory-sharegpt`` exporters: every pair round-trips (exported, read back by datamill's own
reader for that target), ties and LLaMA-Factory's single-answer rule are refused with their reasons,
and LLaMA-Factory's own ``get_dataset`` yields exactly the rows written, one proof per format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.formats import AdapterConfig, get_adapter
from datamill.formats.registry import adapter_for_hint
from datamill.records import Record

from .conftest import export


def m(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


U = m("user", "Explain recursion.")
UQ = m("user", "Name a prime.")
UF_CHOSEN = [UQ, m("assistant", "7")]
UF_REJECTED = [UQ, m("assistant", "8")]
HI = [m("user", "hi"), m("assistant", "hello"), m("user", "2+2?")]

#: format -> (options, rows, how many pairs; the rest are ties or multi-turn)
ROWS: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "helpsteer": ({}, [
        {"context": [m("system", "Be kind."), m("user", "hi"), m("assistant", "hello"), m("user", "你好吗？")],
         "response1": "很好", "response2": "不好", "overall_preference": -3},
        {"context": "2+2?", "response1": "5", "response2": "4", "overall_preference": 2},
        {"context": "2+3?", "response1": "5", "response2": "five", "overall_preference": 0},
    ]),
    "arena": ({}, [
        {"winner": "model_b", "conversation_a": [U, m("assistant", "a")], "conversation_b": [U, m("assistant", "b")]},
        {"winner": "model_a", "conversation_a": [U, m("assistant", "a"), m("user", "more"), m("assistant", "a2")],
         "conversation_b": [U, m("assistant", "b"), m("user", "more"), m("assistant", "b2")]},
        {"winner": "tie", "conversation_a": [U, m("assistant", "a")], "conversation_b": [U, m("assistant", "b")]},
    ]),
    "hh": ({}, [
        {"chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant: 4",
         "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant: 5"},
        {"chosen": "\n\nHuman: name a colour\n\nAssistant: blue",
         "rejected": "\n\nHuman: name a colour\n\nAssistant: no"},
    ]),
    "traces": ({"pairs": "all"}, [
        {"problem": "1+1?", "generations": ["<think>1+1=2</think>\n\n**2**", "<think>guess</think>3", "2"],
         "correctness_math_verify": [True, False, True]},
        {"problem": "2+2?", "generations": ["4", "4"], "correctness_math_verify": [True, True]},
    ]),
    "ranked": ({}, [
        {"instruction": "Write a haiku.", "completions": [
            {"response": "old pond / frog jumps in / splash", "fine-grained_score": 4.75},
            {"response": "a poem", "fine-grained_score": 1.5}]},
        {"prompt": "Say hi.", "responses": ["hi", "HELLO", "go away"], "scores": [7, 9, 1]},
    ]),
    # UltraFeedback binarized (HuggingFaceH4): a prompt string, whole conversations, a messages copy of chosen;
    # TRL implicit prompt: whole conversations only, single- and multi-turn (the shared turns are the prompt)
    "openai": ({}, [
        {"prompt": "Name a prime.", "prompt_id": "p1", "chosen": UF_CHOSEN, "rejected": UF_REJECTED,
         "messages": UF_CHOSEN, "score_chosen": 9.0, "score_rejected": 2.0},
        {"chosen": UF_CHOSEN, "rejected": UF_REJECTED},
        {"chosen": [*HI, m("assistant", "4")], "rejected": [*HI, m("assistant", "5")]},
    ]),
}
#: format -> (trl rows, llamafactory-sharegpt rows): ties refused everywhere, multi-turn arena pairs by LLaMA-Factory
WRITTEN = {"helpsteer": (2, 2), "arena": (2, 1), "hh": (2, 2), "traces": (2, 2), "ranked": (2, 2), "openai": (3, 3)}

#: the openai rows above as a person reads them: prompt = the turns both conversations share,
#: chosen/rejected = the assistant answer where they differ (what TRL's ``extract_prompt`` gives)
OPENAI_TRL = [
    {"prompt": [UQ], "chosen": [m("assistant", "7")], "rejected": [m("assistant", "8")]},
    {"prompt": [UQ], "chosen": [m("assistant", "7")], "rejected": [m("assistant", "8")]},
    {"prompt": HI, "chosen": [m("assistant", "4")], "rejected": [m("assistant", "5")]},
]
OPENAI_LF = [
    {"conversations": [{"from": "human", "value": "Name a prime."}],
     "chosen": {"from": "gpt", "value": "7"}, "rejected": {"from": "gpt", "value": "8"}},
    {"conversations": [{"from": "human", "value": "Name a prime."}],
     "chosen": {"from": "gpt", "value": "7"}, "rejected": {"from": "gpt", "value": "8"}},
    {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"},
                       {"from": "human", "value": "2+2?"}],
     "chosen": {"from": "gpt", "value": "4"}, "rejected": {"from": "gpt", "value": "5"}},
]


def _records(fmt: str) -> list[Record]:
    options, rows = ROWS[fmt]
    adapter = get_adapter(fmt, AdapterConfig(options=options))
    records: list[Record] = []
    for i, row in enumerate(rows):
        for k, record in enumerate(adapter.to_records(row)):
            records.append({"id": f"{fmt}:{i}#{k}", **record})
    return records


def _pair(record: Record) -> tuple[Any, ...]:
    strip = [{k: v for k, v in msg.items() if k in ("role", "content", "reasoning")}
             for msg in record["messages"] + record["chosen"] + record["rejected"]]
    return tuple(json.dumps(s, ensure_ascii=False, sort_keys=True) for s in strip), len(record["chosen"])


@pytest.mark.parametrize("fmt", list(ROWS))
def test_trl_roundtrip(tmp_path: Path, fmt: str) -> None:
    records = _records(fmt)
    out = export(records, "trl", tmp_path)
    pairs = [r for r in records if not r.get("tie")]
    assert sum(out.written.values()) == WRITTEN[fmt][0] == len(pairs)
    assert set(out.reasons()) <= {"tie"}
    back = [get_adapter("openai").to_record(row) for row in out.rows()]
    assert [_pair(b) for b in back] == [_pair(r) for r in pairs]


@pytest.mark.parametrize("fmt", list(ROWS))
def test_llamafactory_sharegpt_roundtrip(tmp_path: Path, fmt: str) -> None:
    records = _records(fmt)
    out = export(records, "llamafactory-sharegpt", tmp_path, {"dataset_name": "ds"})
    assert sum(out.written.values()) == WRITTEN[fmt][1]
    assert set(out.reasons()) <= {"tie", "multi_turn_continuation"}
    reader = adapter_for_hint(out.info()["ds"])
    back = [reader.to_record(row) for row in out.rows()]
    refused = {id(r) for r, _ in out.dropped}
    assert [_pair(b) for b in back] == [_pair(r) for r in records if id(r) not in refused]


@pytest.mark.parametrize("fmt", list(ROWS))
def test_llamafactory_loads_every_pair(llamafactory: Any, tmp_path: Path, fmt: str) -> None:
    out = export(_records(fmt), "llamafactory-sharegpt", tmp_path, {"dataset_name": "ds"})
    assert llamafactory.count(tmp_path, "ds", "rm") == sum(out.written.values()) > 0


def _roles_and_texts(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    def strip(value: Any) -> Any:
        if isinstance(value, list):
            return [strip(v) for v in value]
        return {k: v for k, v in value.items() if k in ("role", "content", "from", "value")}

    return {k: strip(row[k]) for k in keys}


def test_ultrafeedback_and_implicit_prompt_rows_give_the_hand_made_pairs(tmp_path: Path) -> None:
    records = _records("openai")
    trl = export(records, "trl", tmp_path / "trl")
    assert [_roles_and_texts(r, ("prompt", "chosen", "rejected")) for r in trl.rows()] == OPENAI_TRL
    lf = export(records, "llamafactory-sharegpt", tmp_path / "lf", {"dataset_name": "ds"})
    assert lf.dropped == []
    assert [_roles_and_texts(r, ("conversations", "chosen", "rejected")) for r in lf.rows()] == OPENAI_LF


def test_a_prompt_column_that_disagrees_with_the_shared_prefix_is_quarantined_by_convert(tmp_path: Path) -> None:
    """The explicit prompt wins only when it agrees; otherwise the row is quarantined with both texts,
    counted in the summary and named on stderr, and the agreeing rows are written."""
    from typer.testing import CliRunner

    from datamill.cli import app

    rows = [{"prompt": "Name a prime.", "chosen": UF_CHOSEN, "rejected": UF_REJECTED, "messages": UF_CHOSEN},
            {"prompt": "Name an even number.", "chosen": UF_CHOSEN, "rejected": UF_REJECTED,
             "messages": UF_CHOSEN},
            {"chosen": [*HI, m("assistant", "4")], "rejected": [*HI, m("assistant", "5")]}]
    source = tmp_path / "uf.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["convert", str(source), "--format", "openai", "--to", "trl", "--out", str(out),
                                      "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "1 rows were quarantined" in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["written"] == 2 and summary["totals"]["quarantined"] == 1
    written = [json.loads(line) for line in (out / "data.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [_roles_and_texts(r, ("prompt", "chosen", "rejected")) for r in written] == [OPENAI_TRL[0], OPENAI_TRL[2]]
    quarantined = [json.loads(line) for f in sorted(Path(summary["workdir"], "quarantine").glob("*.jsonl"))
                   for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(quarantined) == 1 and quarantined[0]["location"].endswith("uf.jsonl:2")
    error = quarantined[0]["error"]
    assert "'prompt' disagrees with the prompt that 'chosen' and 'rejected' share" in error
    assert "Name an even number." in error and "Name a prime." in error


#: a tie from every reader that can see one, plus one real pair; the traces tie has one trace: no pair
TIE_ROWS: list[tuple[str, dict[str, Any]]] = [
    ("helpsteer", {"context": "2+3?", "response1": "5", "response2": "five", "overall_preference": 0}),
    ("arena", {"winner": "tie", "conversation_a": [U, m("assistant", "a")],
               "conversation_b": [U, m("assistant", "b")]}),
    ("ranked", {"prompt": "Say hi.", "responses": ["hi", "hello"], "scores": [5, 5]}),
    ("pairwise", {"instruction": "Say hi.", "output_1": "hi", "output_2": "hello", "preference": 1.5}),
    ("openai", {"prompt": "Say hi.", "chosen": [m("user", "Say hi."), m("assistant", "hi")],
                "rejected": [m("user", "Say hi."), m("assistant", "yo")],
                "messages": [m("user", "Say hi."), m("assistant", "hi")], "score_chosen": 6, "score_rejected": 6}),
    ("alpaca", {"instruction": "Say hi.", "chosen": "hi", "rejected": "hey", "chosen_rating": 3, "rejected_rating": 3}),
    ("traces", {"problem": "1+1?", "generations": ["2"], "correctness_math_verify": [True]}),
    ("pairwise", {"instruction": "Say hi.", "output_1": "go away", "output_2": "hi", "preference": 2}),
]


def _tie_records() -> list[Record]:
    records = [{"id": f"t:{i}", **get_adapter(fmt).to_records(row)[0]} for i, (fmt, row) in enumerate(TIE_ROWS)]
    assert [bool(r.get("tie")) for r in records] == [True] * 7 + [False]
    return records


@pytest.mark.parametrize("fmt", ["llamafactory-alpaca", "llamafactory-sharegpt", "trl", "hf"])
def test_ties_are_dropped_by_default_and_kept_with_keep_ties(tmp_path: Path, fmt: str) -> None:
    records = _tie_records()
    out = export(records, fmt, tmp_path / "default")
    assert sum(out.written.values()) == 1 and out.reasons() == ["tie"] * 7
    kept = export(records, fmt, tmp_path / "kept", {"keep_ties": True})
    assert sum(kept.written.values()) == 7 and kept.reasons() == ["tie_without_pair"]
    rows = kept.rows()
    first = rows[0]
    if fmt == "llamafactory-alpaca":
        assert (first["instruction"], first["chosen"], first["rejected"]) == ("2+3?", "5", "five")
    elif fmt == "llamafactory-sharegpt":
        assert (first["chosen"]["value"], first["rejected"]["value"]) == ("5", "five")
    else:
        assert (first["chosen"][0]["content"], first["rejected"][0]["content"]) == ("5", "five")


def test_ties_kept_load_through_llamafactory(llamafactory: Any, tmp_path: Path) -> None:
    out = export(_tie_records(), "llamafactory-sharegpt", tmp_path, {"dataset_name": "ds", "keep_ties": True})
    assert llamafactory.count(tmp_path, "ds", "rm") == sum(out.written.values()) == 7


def test_keep_ties_is_not_an_option_of_sft_only_formats() -> None:
    from datamill.errors import RecipeError
    from datamill.export.registry import build_exporter

    with pytest.raises(RecipeError, match="keep_ties"):
        build_exporter("sharegpt", {"keep_ties": True}, "outputs[0]")
