"""Seed 000 end to end: Bedrock batch output written from the real MQM annotations (mqm_ted_zhen.tsv),
read from S3 (moto), verdicts parsed and routed, small simple categories synthesized by a real model
(SmolLM2 via llama.cpp), split per category, OpenAI files + dataset_info.json written back to S3 and
loaded by LLaMA-Factory's own pipeline."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe

RECIPE_DIR = Path(__file__).resolve().parents[2] / "recipes" / "seed000-translation-qc"
SEGMENTS = 400
SIMPLE = {"fluency-punctuation", "fluency-spelling", "accuracy-untranslated-text", "locale-convention-name-format",
          "locale-convention-date-format", "locale-convention-currency-format",
          "terminology-inconsistent-use-of-terminology"}
SEVERITY = {"critical": 0, "major": 1, "minor": 2}


def converter() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_batch_output", RECIPE_DIR / "make_batch_output.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def slug(category: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", category.lower()).strip("-")


def expected_categories(segments: list[Any], error_every: int, malformed_every: int) -> Counter[str]:
    """Category of each segment that has a readable verdict, computed from the annotations directly."""
    counts: Counter[str] = Counter()
    for i, seg in enumerate(segments):
        if i % error_every == error_every - 1 or i % malformed_every == malformed_every - 1:
            continue
        issues = sorted(seg.issues, key=lambda x: SEVERITY[x["severity"]])
        counts[slug(issues[0]["category"]) if issues else "no-error"] += 1
    return counts


def s3_text(s3: Any, key: str) -> bytes:
    data: bytes = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return data


def test_seed000_from_bedrock_batch_output_on_s3(tmp_path: Path, corpora: Path, s3: Any, llama_server: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    mk = converter()
    segments = mk.read_segments(corpora / "7_wmt_mqm" / "mqm_ted_zhen.tsv", SEGMENTS)
    assert len(segments) == SEGMENTS
    files = mk.write_batch_output(segments, tmp_path / "batch", per_file=150, error_every=40, malformed_every=45,
                                  corrupt_lines=1)
    for path in [*files, files[0].parent / "manifest.json.out"]:
        s3.put(f"in/{path.parent.name}/{path.name}", path.read_bytes())
    expected = expected_categories(segments, 40, 45)
    errors = sum(1 for i in range(SEGMENTS) if i % 40 == 39)
    malformed = sum(1 for i in range(SEGMENTS) if i % 45 == 44 and i % 40 != 39)

    # the smallest simple category is filled (2 records short of the target), the others stay as they are
    simple = {c: n for c, n in expected.items() if c in SIMPLE}
    assert len(simple) >= 2, simple
    smallest = min(simple.values())
    monkeypatch.setenv("SEED000_INPUT", f"s3://{s3.bucket}/in/*/*.jsonl.out")
    monkeypatch.setenv("SEED000_OUTPUT", f"s3://{s3.bucket}/out")
    monkeypatch.setenv("SEED000_LLM_URL", llama_server)
    monkeypatch.setenv("SEED000_MODEL", "smollm2")
    monkeypatch.setenv("SEED000_RPM", "6000")
    monkeypatch.setenv("SEED000_MAX_TOKENS", "160")
    monkeypatch.setenv("SEED000_SHOTS", "1")
    monkeypatch.setenv("SEED000_MIN", str(smallest + 1))
    monkeypatch.setenv("SEED000_TARGET", str(smallest + 2))
    summary = run_recipe(load_recipe(RECIPE_DIR / "recipe.yaml"), tmp_path / "run", workers=1)

    # every segment accounted for: read = written + dropped + quarantined (+ generated)
    totals = summary["totals"]
    assert summary["reconciled"]
    assert totals["read"] == SEGMENTS + 1  # + the corrupt line
    assert totals["quarantined"] == 1
    assert totals["dropped"] == {"batch_error": errors, "llm_invalid_output": malformed}
    filled = {c for c, n in simple.items() if n == smallest}
    assert totals["generated"] == 2 * len(filled)
    assert totals["written"] == sum(expected.values()) + totals["generated"]
    dropped = [json.loads(line) for f in sorted((tmp_path / "run/steps/01-batch_verdicts/dropped").glob("*.jsonl"))
               for line in f.read_text().splitlines()]
    assert Counter(d["reason"] for d in dropped) == {"batch_error": errors, "llm_invalid_output": malformed}
    assert all("ValidationException" in d["detail"]["error"] for d in dropped if d["reason"] == "batch_error")
    assert all(d["detail"]["raw"] for d in dropped if d["reason"] == "llm_invalid_output")

    report = next(s for s in summary["steps"] if s["name"] == "03-llm_generate")["report"]["categories"]
    for cat, n in simple.items():  # counted from what exists; only the small ones are filled, to the target
        assert report[cat]["existing"] == n
        assert report[cat]["generated"] == (2 if cat in filled else 0)
    assert not set(report) - SIMPLE  # complex categories are not synthesized

    # per route/category/split files on S3, with the right counts; dataset_info.json hashes match
    info = json.loads(s3_text(s3, "out/dataset_info.json"))
    split = next(s for s in summary["steps"] if s["name"] == "04-split")["report"]["strata"]
    rows: Counter[str] = Counter()
    local = tmp_path / "lf"
    for name, entry in info.items():
        assert entry["formatting"] == "sharegpt" and entry["columns"] == {"messages": "messages"}
        assert entry["tags"] == {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                                 "assistant_tag": "assistant", "system_tag": "system"}
        data = s3_text(s3, f"out/{entry['file_name']}")
        assert hashlib.sha1(data).hexdigest() == entry["file_sha1"]
        route, rest = entry["file_name"].split("/")
        cat, part = rest.removesuffix(".jsonl").rsplit("-", 1)
        assert name == f"{route}_{cat}-{part}"
        assert route == ("simple" if cat in SIMPLE else "complex")
        lines = data.decode().splitlines()
        assert len(lines) == split[cat][part]
        rows[cat] += len(lines)
        for line in lines:
            assert [m["role"] for m in json.loads(line)["messages"]] == ["user", "assistant"]
        (local / route).mkdir(parents=True, exist_ok=True)
        (local / entry["file_name"]).write_bytes(data)
    for cat, n in expected.items():
        assert rows[cat] == n + (2 if cat in filled else 0)
    for cat in filled:  # synthesized categories reach the target
        assert rows[cat] == smallest + 2
    (local / "dataset_info.json").write_text(json.dumps(info))

    # LLaMA-Factory's own loader reads the files through that registry (same row counts)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from export.lf_loader import LlamaFactory, available

    if not available():
        pytest.skip("llamafactory is not installed (scripts/setup.d/30-trainers.sh installs it)")
    lf = LlamaFactory(tmp_path / "lfwork")
    smallest_cat = sorted(filled)[0]
    for name in (f"simple_{smallest_cat}-train", "complex_accuracy-mistranslation-train"):
        assert lf.count(local, name, "sft") == len((local / info[name]["file_name"]).read_text().splitlines())


def test_openai_dataset_info_option_on_local_folders(tmp_path: Path) -> None:
    """``dataset_info: true`` on the openai exporter: one entry per file, named by folder and stem,
    file_name relative, sha1 of the bytes; tool turns refused (LLaMA-Factory reads role/content only)."""
    from datamill.recipe.load import load_recipe_data

    rows = [{"messages": [{"role": "system", "content": "judge"}, {"role": "user", "content": f"q{i}"},
                          {"role": "assistant", "content": f"a{i}"}], "category": "c" + str(i % 2),
             "meta": {"route": "simple" if i % 2 else "complex"}, "kind": "sft"} for i in range(6)]
    rows.append({"messages": [{"role": "user", "content": "w"}, {"role": "assistant", "content": "",
                              "tool_calls": [{"name": "f", "arguments": {}}]},
                              {"role": "tool", "content": "1"}, {"role": "assistant", "content": "x"}],
                 "category": "c0", "meta": {"route": "complex"}, "kind": "sft"})
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {"name": "o", "inputs": [{"path": str(data), "format": "canonical"}], "steps": [],
              "outputs": [{"format": "openai", "path": "export/", "split_by": "{meta.route}/{category}",
                           "options": {"dataset_info": True}}]}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert summary["totals"]["dropped"] == {"export:tool_calls_unsupported": 1}
    export = tmp_path / "run" / "export"
    info = json.loads((export / "dataset_info.json").read_text())
    assert sorted(info) == ["complex_c0", "simple_c1"]
    for entry in info.values():
        data_bytes = (export / entry["file_name"]).read_bytes()
        assert entry["file_sha1"] == hashlib.sha1(data_bytes).hexdigest()
        assert len(data_bytes.splitlines()) == 3
    assert info["simple_c1"]["file_name"] == "simple/c1.jsonl"
