"""Whole runs over the inputs a new user really has: a broken JSONL file, and data on S3."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from fixtures.broken_jsonl import write_broken_jsonl


def _recipe(root: Path, data: dict[str, Any]) -> Path:
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_broken_file_completes_reconciles_and_keeps_every_good_row(tmp_path: Path) -> None:
    truth = write_broken_jsonl(tmp_path / "broken.jsonl")
    recipe = _recipe(tmp_path, {
        "name": "broken",
        "inputs": [{"path": "broken.jsonl", "format": "raw"}],
        "outputs": [{"format": "jsonl", "path": "export/"}],
        "executor": {"shard_size": 300},
    })
    summary = run_recipe(load_recipe(recipe), tmp_path / "run", workers=2)
    totals = summary["totals"]
    assert totals["read"] == truth["rows"]
    assert totals["quarantined"] == truth["error_rows"]
    assert totals["written"] == truth["good_rows"] + truth["recovered_rows"]
    assert totals["dropped"] == {}
    assert summary["reconciled"]
    notes = summary["steps"][0]["notes"]
    assert notes.get("blank lines skipped") == truth["blank_lines"]

    quarantined = [json.loads(line) for f in sorted((tmp_path / "run/quarantine").glob("*.jsonl"))
                   for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(quarantined) == truth["error_rows"]
    lines = sorted(int(q["location"].rsplit(":", 1)[1]) for q in quarantined)
    assert lines == sorted(n for n, kind in truth["kinds"].items() if kind.startswith("error"))
    for q in quarantined:
        line = int(q["location"].rsplit(":", 1)[1])
        assert q["offset"] == truth["offsets"][line]
        assert q["error"]

    written = [json.loads(line) for line in (tmp_path / "run/export/data.jsonl").read_text("utf-8").splitlines()]
    assert len(written) == totals["written"]
    sizes = sorted(len(r["meta"].get("text", "")) for r in written)
    assert sizes[-1] > 3_000_000 and sizes[-2] > 3_000_000  # both 9 MB records survived
    gbk = [r for r in written if isinstance(r["meta"].get("id"), int) and 20_000 <= r["meta"]["id"] < 20_030]
    assert len(gbk) == 30 and all("\ufffd" not in r["meta"]["text"] for r in gbk)


def test_s3_in_and_out_matches_a_local_run(tmp_path: Path, s3: Any) -> None:
    rows = [{"instruction": f"题目 {i % 50}", "input": "", "output": f"答案 {i % 50}"} for i in range(300)]
    for part in range(3):
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[part * 100:(part + 1) * 100])
        s3.put(f"raw/part{part}.jsonl.gz", gzip.compress(body.encode()))
        (tmp_path / f"part{part}.jsonl.gz").write_bytes(gzip.compress(body.encode()))
    base = {
        "name": "s3",
        "steps": [{"dedup_exact": {"on": "prompt"}}, {"split": {"ratios": {"train": 0.8, "test": 0.2}}}],
    }
    remote = _recipe(tmp_path, {**base, "inputs": [{"path": f"s3://{s3.bucket}/raw/*.jsonl.gz", "name": "d"}],
                                "outputs": [{"format": "jsonl", "path": f"s3://{s3.bucket}/out/"},
                                            {"format": "parquet", "path": f"s3://{s3.bucket}/out/pq/"}]})
    summary = run_recipe(load_recipe(remote), tmp_path / "remote", workers=2)
    assert summary["totals"]["read"] == 300 and summary["totals"]["written"] == 50
    local_path = tmp_path / "local.yaml"
    local_path.write_text(yaml.safe_dump({**base, "inputs": [{"path": "part*.jsonl.gz", "name": "d"}],
                                          "outputs": [{"format": "jsonl", "path": "export/"}]}))
    run_recipe(load_recipe(local_path), tmp_path / "local", workers=1)
    for split in ("train", "test"):
        remote_bytes = s3.client.get_object(Bucket=s3.bucket, Key=f"out/{split}.jsonl")["Body"].read()
        local_rows = [json.loads(x) for x in (tmp_path / f"local/export/{split}.jsonl").read_text().splitlines()]
        remote_rows = [json.loads(x) for x in remote_bytes.decode().splitlines()]
        # ids name the file they came from (different paths), the content is identical
        strip = lambda rs: [{k: v for k, v in r.items() if k not in ("id", "source_id")} for r in rs]  # noqa: E731
        assert strip(remote_rows) == strip(local_rows)
        table = pq.read_table(io.BytesIO(s3.client.get_object(Bucket=s3.bucket, Key=f"out/pq/{split}.parquet")
                                         ["Body"].read()))
        assert table.num_rows == len(local_rows)
    files = summary["outputs"][0]["files"]
    assert {f["path"] for f in files} == {f"s3://{s3.bucket}/out/train.jsonl", f"s3://{s3.bucket}/out/test.jsonl"}


def test_local_executor_pool_works_in_a_work_directory_on_s3(tmp_path: Path, s3: Any) -> None:
    """The driver reaches the store before its pool forks; every forked worker must get its own
    connection (fsspec's S3 filesystem refuses to be used across a fork)."""
    rows = [{"instruction": f"q{i}", "input": "", "output": f"a{i % 40}"} for i in range(400)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = _recipe(tmp_path, {
        "name": "pool-on-s3", "inputs": [{"path": "data.jsonl"}],
        "steps": [{"dedup_exact": {"on": "answer"}}],
        "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}],
        "executor": {"shard_size": 50},
    })
    local = run_recipe(load_recipe(recipe), tmp_path / "local", workers=2)
    remote = run_recipe(load_recipe(recipe), f"s3://{s3.bucket}/runs/pool", workers=2, executor="local")
    body = s3.client.get_object(Bucket=s3.bucket, Key="runs/pool/export/data.jsonl")["Body"].read()
    assert body == (tmp_path / "local" / "export" / "data.jsonl").read_bytes()
    assert remote["reconciled"] and remote["totals"] == local["totals"] and remote["totals"]["written"] == 40
