"""LLaMA-Factory ``dataset_info.json`` registries as inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from datamill.errors import InputError
from datamill.io.read import read_rows
from datamill.io.sources import expand_input
from datamill.recipe.model import InputSpec

ALPACA = [{"instruction": "hi", "input": "", "output": "Hello! I am {{name}}"}]
SHAREGPT = [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}],
             "chosen": {"from": "gpt", "value": "c"}, "rejected": {"from": "gpt", "value": "r"}}]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "identity.json").write_text(json.dumps(ALPACA, indent=2))
    (folder / "dpo_zh_demo.json").write_text(json.dumps(SHAREGPT, indent=2))
    (folder / "c4_demo.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n')
    (folder / "shards").mkdir()
    (folder / "shards" / "0.jsonl").write_text('{"text": "s0"}\n')
    (folder / "shards" / "1.jsonl").write_text('{"text": "s1"}\n')
    sha1 = hashlib.sha1((folder / "identity.json").read_bytes()).hexdigest()
    info: dict[str, Any] = {
        "identity": {"file_name": "identity.json", "file_sha1": sha1},
        "dpo_zh_demo": {
            "file_name": "dpo_zh_demo.json", "ranking": True, "formatting": "sharegpt",
            "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
        },
        "c4_demo": {"file_name": "c4_demo.jsonl", "columns": {"prompt": "text"}},
        "sharded": {"file_name": "shards"},
        "ultrachat_200k": {
            "hf_hub_url": "HuggingFaceH4/ultrachat_200k", "ms_hub_url": "AI-ModelScope/ultrachat_200k",
            "formatting": "sharegpt", "split": "train_sft", "subset": "default",
            "columns": {"messages": "messages"}, "tags": {"role_tag": "role", "content_tag": "content"},
        },
        "ms_only": {"ms_hub_url": "AI-ModelScope/x"},
        "bad_sha": {"file_name": "c4_demo.jsonl", "file_sha1": "0" * 40},
    }
    path = folder / "dataset_info.json"
    path.write_text(json.dumps(info, indent=2))
    return path


def expand(registry: Path, *names: str, **options: Any) -> list[Any]:
    spec = InputSpec(path="data/dataset_info.json", options={"datasets": list(names), **options})
    return expand_input(spec, registry.parent.parent)


def test_entries_become_sources_with_hints(registry: Path) -> None:
    identity, dpo, c4 = expand(registry, "identity", "dpo_zh_demo", "c4_demo")
    assert identity.display == "data/identity.json" and identity.url == str(registry.parent / "identity.json")
    assert identity.hint == {"formatting": "alpaca", "columns": {}, "tags": {}, "ranking": False,
                             "dataset": "identity"}
    assert dpo.hint == {"formatting": "sharegpt", "ranking": True, "dataset": "dpo_zh_demo", "tags": {},
                        "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}}
    assert c4.hint is not None and c4.hint["columns"] == {"prompt": "text"}
    assert "datasets" not in identity.options
    assert [r.value for r in read_rows(identity)] == ALPACA
    assert [r.value for r in read_rows(c4)] == [{"text": "a"}, {"text": "b"}]


def test_folder_entry_expands_to_its_files(registry: Path) -> None:
    files = expand(registry, "sharded")
    assert [f.display for f in files] == ["data/shards/0.jsonl", "data/shards/1.jsonl"]
    assert {f.hint["dataset"] for f in files} == {"sharded"}


def test_hub_entry(registry: Path) -> None:
    (source,) = expand(registry, "ultrachat_200k")
    assert source.url == "hf://HuggingFaceH4/ultrachat_200k" and source.file_format == "hf"
    assert source.options == {"split": "train_sft", "config": "default"}
    assert source.hint is not None and source.hint["tags"] == {"role_tag": "role", "content_tag": "content"}


def test_sha1_mismatch_names_file_and_both_hashes(registry: Path) -> None:
    actual = hashlib.sha1((registry.parent / "c4_demo.jsonl").read_bytes()).hexdigest()
    with pytest.raises(InputError) as info:
        expand(registry, "bad_sha")
    message = str(info.value)
    assert "data/c4_demo.jsonl" in message and "bad_sha" in message
    assert f"expected sha1 {'0' * 40}" in message and f"actual sha1 {actual}" in message


def test_unknown_and_unreadable_entries(registry: Path) -> None:
    with pytest.raises(InputError, match="no dataset named 'nope'") as info:
        expand(registry, "nope")
    assert info.value.hint is not None and "identity" in info.value.hint
    with pytest.raises(InputError, match="ms_hub_url"):
        expand(registry, "ms_only")


def test_all_entries_when_none_selected(registry: Path) -> None:
    info = json.loads(registry.read_text())
    del info["ms_only"], info["bad_sha"]
    registry.write_text(json.dumps(info))
    files = expand_input(InputSpec(path="data/dataset_info.json"), registry.parent.parent)
    names = [(f.hint or {})["dataset"] for f in files]
    assert names == ["identity", "dpo_zh_demo", "c4_demo", "sharded", "sharded", "ultrachat_200k"]


def test_real_registry_entries(corpora: Path, tmp_path: Path) -> None:
    """Entries of the real LLaMA-Factory registry resolve against the real files next to it."""
    names = ["identity", "glaive_toolcall_en_demo", "wiki_demo", "kto_en_demo"]
    spec = InputSpec(path=str(corpora / "2_llamafactory" / "dataset_info.json"), options={"datasets": names})
    files = expand_input(spec, tmp_path)
    counts = {(f.hint or {})["dataset"]: sum(r.error is None for r in read_rows(f)) for f in files}
    assert counts == {"identity": 91, "glaive_toolcall_en_demo": 300, "wiki_demo": 30, "kto_en_demo": 300}
    glaive = files[1].hint
    assert glaive == {"formatting": "sharegpt", "columns": {"messages": "conversations", "tools": "tools"},
                      "tags": {}, "ranking": False, "dataset": "glaive_toolcall_en_demo"}
