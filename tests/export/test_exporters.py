"""Each exporter's rows, options, refusals and dataset_info.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from datamill.errors import RecipeError
from datamill.export.registry import build_exporter

from .conftest import export
from .samples import BROKEN, KTO, PREFERENCE, PRETRAIN, SFT, TOOL_CHAT, TOOLS

CONVERSATIONAL = ["llamafactory-alpaca", "llamafactory-sharegpt", "sharegpt", "openai", "trl", "hf"]


def test_llamafactory_alpaca_sft_rows_and_info(tmp_path: Path) -> None:
    out = export(SFT, "llamafactory-alpaca", tmp_path)
    rows = out.rows()
    assert rows[0] == {"instruction": "你好", "input": "", "output": "你好！有什么可以帮你？", "system": "",
                       "history": []}
    assert rows[1]["system"] == "Be brief."
    assert rows[2]["history"] == [["hi", "hello"]] and rows[2]["instruction"] == "and?"
    assert rows[3]["output"] == "<think>\n3+3+3=9\n</think>\n\n9"
    assert rows[4]["output"] == "<think>\na long proof\n</think>\n\n"  # reasoning that cannot be split
    assert "你好" in out.files["data.json"].decode("utf-8")  # UTF-8, not ASCII-escaped
    entry = out.info()["data"]
    assert entry == {
        "file_name": "data.json", "formatting": "alpaca",
        "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system",
                    "history": "history"},
        "file_sha1": hashlib.sha1(out.files["data.json"]).hexdigest(),
    }


def test_llamafactory_alpaca_preference_kto_pretrain(tmp_path: Path) -> None:
    pref = export(PREFERENCE, "llamafactory-alpaca", tmp_path / "p")
    assert pref.reasons() == ["tie"]
    assert pref.rows()[1] == {"instruction": "两天", "input": "", "chosen": "建议就医检查。", "rejected": "没事。",
                              "system": "You are a doctor.", "history": [["头疼怎么办", "多久了？"]]}
    assert pref.info()["data"]["ranking"] is True
    legacy = export(PREFERENCE[:1], "llamafactory-alpaca", tmp_path / "legacy", {"pair_style": "output_list"})
    assert legacy.rows()[0]["output"] == ["Paris", "Lyon"]
    kto = export(KTO, "llamafactory-alpaca", tmp_path / "k")
    assert [r["kto_tag"] for r in kto.rows()] == [True, False]
    assert kto.info()["data"]["columns"]["kto_tag"] == "kto_tag"
    pt = export(PRETRAIN, "llamafactory-alpaca", tmp_path / "t")
    assert pt.rows()[0] == {"text": "first document\nwith two lines"}
    assert pt.info()["data"]["columns"] == {"prompt": "text"}


def test_mode_lock_refuses_other_shapes(tmp_path: Path) -> None:
    out = export(SFT[:1] + PREFERENCE[:1] + PRETRAIN[:1], "llamafactory-alpaca", tmp_path)
    assert out.reasons() == ["mode_mismatch", "mode_mismatch"]
    fixed = export(SFT[:1] + PREFERENCE[:1], "llamafactory-alpaca", tmp_path / "f", {"mode": "preference"})
    assert fixed.reasons() == ["mode_mismatch"] and fixed.written == {"data.json": 1}
    with pytest.raises(RecipeError, match=r"options\.mode"):
        build_exporter("openai", {"mode": "preference"}, "outputs[0]")
    with pytest.raises(RecipeError, match="cot"):
        build_exporter("llamafactory-sharegpt", {"cot": "field"}, "outputs[0]")


def test_llamafactory_sharegpt_tools_and_pairs(tmp_path: Path) -> None:
    out = export(TOOL_CHAT + SFT[1:2], "llamafactory-sharegpt", tmp_path)
    row = out.rows()[0]
    assert [t["from"] for t in row["conversations"]] == ["human", "function_call", "observation", "gpt"]
    assert json.loads(row["conversations"][1]["value"]) == {"name": "weather", "arguments": {"city": "Paris"}}
    assert json.loads(row["tools"])[0]["function"]["name"] == "weather"
    assert out.rows()[1]["system"] == "Be brief." and out.rows()[1]["tools"] == ""
    info = out.info()["data"]
    assert info["formatting"] == "sharegpt" and info["tags"]["function_tag"] == "function_call"
    pref = export(PREFERENCE, "llamafactory-sharegpt", tmp_path / "p")
    assert pref.rows()[0]["chosen"] == {"from": "gpt", "value": "Paris"}
    assert [t["from"] for t in pref.rows()[1]["conversations"]] == ["human", "gpt", "human"]
    assert pref.info()["data"]["ranking"] is True


def test_alpaca_refuses_tool_calls(tmp_path: Path) -> None:
    assert export(TOOL_CHAT, "llamafactory-alpaca", tmp_path).reasons() == ["tool_calls_unsupported"]


@pytest.mark.parametrize("fmt", CONVERSATIONAL)
def test_every_conversational_target_refuses_broken_records(fmt: str, tmp_path: Path) -> None:
    out = export([r for r, _ in BROKEN], fmt, tmp_path)
    assert out.reasons() == [reason for _, reason in BROKEN]
    assert sum(out.written.values()) == 0


def test_merge_into_existing_dataset_info(tmp_path: Path) -> None:
    registry = tmp_path / "LLaMA-Factory" / "data" / "dataset_info.json"
    registry.parent.mkdir(parents=True)
    registry.write_text(json.dumps({"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"}}), encoding="utf-8")
    out = export(SFT[:2], "llamafactory-alpaca", tmp_path / "export",
                 {"dataset_name": "med", "merge_into": str(registry)})
    merged = json.loads(registry.read_text(encoding="utf-8"))
    assert set(merged) == {"alpaca_en_demo", "med"}
    assert merged["med"]["file_name"] == "../../export/data.json"
    assert (registry.parent / merged["med"]["file_name"]).resolve() == (tmp_path / "export" / "data.json").resolve()
    assert out.info()["med"]["file_name"] == "data.json"


def test_split_files_get_one_entry_each(tmp_path: Path) -> None:
    records = [dict(r, split="train" if i % 2 else "test") for i, r in enumerate(SFT[:4])]
    out = export(records, "llamafactory-sharegpt", tmp_path, {"dataset_name": "ds"}, split_by="split")
    info = out.info()
    assert set(info) == {"ds_train", "ds_test"}
    assert info["ds_train"]["file_name"] == "train.json"


def test_sharegpt_seed003_shape(tmp_path: Path) -> None:
    out = export(SFT[:2], "sharegpt", tmp_path)
    assert out.rows()[0] == {"id": "s:0", "conversations": [{"from": "human", "value": "你好"},
                                                            {"from": "gpt", "value": "你好！有什么可以帮你？"}]}
    assert out.rows()[1]["conversations"][0] == {"from": "system", "value": "Be brief."}
    assert export(PREFERENCE[:1], "sharegpt", tmp_path / "p").reasons() == ["unsupported_mode"]


def test_openai_rows_cot_and_xtuner(tmp_path: Path) -> None:
    out = export(SFT[:4] + TOOL_CHAT, "openai", tmp_path, {"cot": "field"})
    rows = out.rows()
    assert rows[0] == {"messages": [{"role": "user", "content": "你好"},
                                    {"role": "assistant", "content": "你好！有什么可以帮你？"}]}
    assert rows[3]["messages"][1] == {"role": "assistant", "content": "9", "reasoning_content": "3+3+3=9"}
    tool_row = rows[4]
    assert tool_row["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'
    assert tool_row["messages"][2]["tool_call_id"] == "c1" and tool_row["tools"] == TOOLS
    assert b"\\u" not in out.files["data.jsonl"]
    xtuner = export(SFT[:1] + TOOL_CHAT, "openai", tmp_path / "x", {"xtuner": True})
    assert xtuner.reasons() == ["tool_calls_unsupported"]


def test_cot_drop_refuses_reasoning_only_answers(tmp_path: Path) -> None:
    out = export(SFT[3:5], "openai", tmp_path, {"cot": "drop"})
    assert out.rows()[0]["messages"][1] == {"role": "assistant", "content": "9"}
    assert out.reasons() == ["empty_assistant_turn"]


def test_trl_rows(tmp_path: Path) -> None:
    sft = export(SFT[1:2], "trl", tmp_path / "s").rows()[0]
    assert sft == {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
                                {"role": "assistant", "content": "4"}]}
    dpo = export(PREFERENCE, "trl", tmp_path / "p")
    assert dpo.rows()[0] == {"prompt": [{"role": "user", "content": "capital of France?"}],
                             "chosen": [{"role": "assistant", "content": "Paris"}],
                             "rejected": [{"role": "assistant", "content": "Lyon"}]}
    assert dpo.rows()[1]["prompt"][0]["role"] == "system" and dpo.reasons() == ["tie"]
    kto = export(KTO, "trl", tmp_path / "k").rows()
    assert kto[1] == {"prompt": [{"role": "user", "content": "hi"}],
                      "completion": [{"role": "assistant", "content": "go away"}], "label": False}
    assert export(PRETRAIN, "trl", tmp_path / "t").rows()[1] == {"text": "第二篇文档"}


def test_text_lines_and_jsonl(tmp_path: Path) -> None:
    out = export(PRETRAIN + SFT[:1], "text", tmp_path)
    assert out.rows() == ["first document\\nwith two lines", "第二篇文档"]
    assert out.reasons() == ["mode_mismatch"]
    spaced = export(PRETRAIN, "text", tmp_path / "s", {"newlines": "space"})
    assert spaced.rows()[0] == "first document with two lines"
    jsonl = export(PRETRAIN, "text", tmp_path / "j", {"jsonl": True, "id_field": "id"})
    assert jsonl.rows() == [{"text": "first document\nwith two lines", "id": "x:0"},
                            {"text": "第二篇文档", "id": "x:1"}]
    empty = export([{"id": "e", "kind": "pretrain", "text": "  "}], "text", tmp_path / "e")
    assert empty.reasons() == ["empty_text"]


def test_hf_dataset_on_disk(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    records = [dict(r, split="train" if i < 3 else "test") for i, r in enumerate(SFT[:4] + TOOL_CHAT)]
    out = export(records, "hf", tmp_path, split_by="split")
    loaded = datasets.load_from_disk(str(tmp_path / "dataset"))
    assert set(loaded) == {"train", "test"}
    assert len(loaded["train"]) == out.written["train.jsonl"] == 3
    assert loaded["train"][0]["id"] == "s:0"
    assert loaded["train"][0]["messages"][1]["content"] == "你好！有什么可以帮你？"


def test_records_with_media_are_refused(tmp_path: Path) -> None:
    record = {"id": "m:0", "kind": "sft", "meta": {"images": ["a.jpg"]},
              "messages": [{"role": "user", "content": "<image>what is this?"},
                           {"role": "assistant", "content": "a cat"}]}
    assert export([record], "openai", tmp_path).reasons() == ["media_not_exported"]


def test_outputs_sharing_a_folder_share_dataset_info(tmp_path: Path) -> None:
    export(SFT[:1], "llamafactory-alpaca", tmp_path, {"dataset_name": "sft"})
    (tmp_path / "data.json").rename(tmp_path / "sft.json")
    out = export(PREFERENCE[:1], "llamafactory-sharegpt", tmp_path, {"dataset_name": "rw"})
    info = out.info()
    assert set(info) == {"sft", "rw"} and info["rw"]["ranking"] is True
