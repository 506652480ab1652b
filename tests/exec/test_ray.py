"""The Ray executor on a local Ray instance (2 CPUs, small object store, one per module): the same recipe
gives byte-identical outputs to the local executor, a worker killed mid-stage changes nothing, a work
directory on S3 works and resumes, and LLM calls on two workers keep one rate limit and pay once."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe, load_recipe_data
from fixtures.golden import RECIPES, digests, pinned

ray = pytest.importorskip("ray")



@pytest.fixture(scope="module")
def ray_local(request: pytest.FixtureRequest) -> Iterator[Any]:
    """One local Ray instance for the module (starting one costs seconds); always shut down. Its workers
    see the local S3 the way a cluster's nodes see theirs: through their environment, set when the
    local S3 can start (only the S3 test needs it; without ``moto_server`` it skips, the others run)."""
    env: dict[str, str] = {}
    try:
        endpoint = request.getfixturevalue("s3_server")
    except pytest.skip.Exception:
        pass
    else:
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}
    ray.init(num_cpus=2, object_store_memory=96 << 20, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": env})
    try:
        yield ray
    finally:
        ray.shutdown()


def test_the_ray_instance_does_not_need_the_local_s3(ray_local: Any, request: pytest.FixtureRequest) -> None:
    """Without ``moto_server`` only the S3 test skips: the Ray instance every test shares does not
    request the local S3 (a test's fixtures, as collected, include those its fixtures request)."""
    assert "s3_server" not in request.node.fixturenames
    assert ray_local.is_initialized()


def exports(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def counts(summary: dict[str, Any]) -> list[Any]:
    """Every stage's and output's counts (not its seconds), and the totals."""
    keep = ("name", "in", "out", "dropped", "quarantined", "generated", "notes")
    return [[{k: s.get(k) for k in keep} for s in summary["steps"]],
            [{k: o.get(k) for k in ("in", "out", "dropped")} for o in summary["outputs"]], summary["totals"]]


def planted_corpus(root: Path, n: int = 2400, files: int = 3) -> Path:
    """Alpaca rows in several files: exact duplicates, near duplicates (one word changed) in other files,
    and an empty answer now and then."""
    rng = random.Random(11)
    words = [f"w{i}" for i in range(400)] + ["数据", "模型", "训练", "清洗"]
    base = [" ".join(rng.choice(words) for _ in range(24)) for _ in range(n)]
    rows: list[list[dict[str, str]]] = [[] for _ in range(files)]
    for i, text in enumerate(base):
        rows[i % files].append({"instruction": f"q{i % 700}", "input": "", "output": text if i % 97 else ""})
        if i % 5 == 0:  # a near duplicate in another file
            near = text.split()
            near[rng.randrange(len(near))] = "changed"
            rows[(i + 1) % files].append({"instruction": f"q{i % 700}", "input": "", "output": " ".join(near)})
        if i % 7 == 0:  # an exact duplicate in another file
            rows[(i + 2) % files].append({"instruction": f"q{i % 700}", "input": "", "output": text})
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    for k, part in enumerate(rows):
        (data / f"part{k}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part),
                                            encoding="utf-8")
    return data


def dedup_recipe(data: Path, shard_size: int = 300) -> dict[str, Any]:
    return {
        "name": "planted",
        "inputs": [{"path": str(data / "*.jsonl")}],
        "steps": [
            {"filter": {"expr": "len(answer) > 0", "reason": "empty_answer"}},
            {"dedup_exact": {"on": "prompt+answer"}},
            {"dedup_minhash": {"on": "answer", "threshold": 0.7}},
            {"split": {"ratios": {"train": 0.9, "test": 0.1}, "seed": 0}},
        ],
        "outputs": [{"format": "jsonl", "path": "export/"}, {"format": "llamafactory-alpaca", "path": "export/lf/"}],
        "executor": {"shard_size": shard_size},
    }


def test_demo_and_seed_recipes_give_the_local_bytes(ray_local: Any, tmp_path: Path, corpora: Path) -> None:
    """The demo run by both executors (bytes and counts); the demo and the seeds that run offline on Ray give
    the exports pinned for the local executor (tests/export/test_golden_exports.py)."""
    local = run_recipe(load_recipe(RECIPES["demo"]), tmp_path / "demo-local", workers=2)
    for name, path in RECIPES.items():
        on_ray = run_recipe(load_recipe(path), tmp_path / name, workers=2, executor="ray", report=False)
        assert on_ray["reconciled"] and on_ray["totals"]["written"] > 0, name
        assert digests(tmp_path / name) == pinned()[name], name
        if name == "demo":
            assert exports(tmp_path / name / "export") == exports(tmp_path / "demo-local" / "export")
            assert counts(on_ray) == counts(local)


def test_planted_near_duplicates_keep_the_same_survivors(ray_local: Any, tmp_path: Path) -> None:
    data = planted_corpus(tmp_path)
    local = run_recipe(load_recipe_data(dedup_recipe(data), tmp_path), tmp_path / "local", workers=2)
    on_ray = run_recipe(load_recipe_data(dedup_recipe(data), tmp_path), tmp_path / "ray", workers=2, executor="ray")
    dropped = on_ray["totals"]["dropped"]
    assert dropped.get("duplicate_exact", 0) > 100 and dropped.get("duplicate_near", 0) > 100, dropped
    assert exports(tmp_path / "ray" / "export") == exports(tmp_path / "local" / "export")
    assert counts(on_ray) == counts(local)
    # the survivors are the first of each group in input order, whatever finished first on the cluster
    kept = [json.loads(line)["id"] for line in (tmp_path / "ray" / "export" / "train.jsonl").read_text().splitlines()]
    assert kept == [json.loads(line)["id"] for line in
                    (tmp_path / "local" / "export" / "train.jsonl").read_text().splitlines()]
    # the run says where its tasks ran: all on this instance's one node; the local executor says nothing
    assert [line for line in on_ray["log"] if line.startswith("ray: ")] == [_one_line(on_ray["log"])]
    assert re.fullmatch(r"ray: \d+ tasks on 1 node \(\d+ on [0-9a-f]{8}\)", _one_line(on_ray["log"]))
    assert not [line for line in local["log"] if line.startswith("ray: ")]


def _one_line(log: list[str]) -> str:
    found = [line for line in log if line.startswith("ray: ")]
    assert len(found) == 1, log
    return found[0]


def _resumed_stages(log: list[str]) -> list[str]:
    return [line.split(":")[0] for line in log if line.endswith(": unchanged, skipped (resume)")]


def test_a_killed_local_run_is_finished_by_ray(ray_local: Any, tmp_path: Path) -> None:
    """The local executor's run killed (SIGKILL, its workers too) after the stages up to the filter were done
    and the exact dedup had begun; Ray finishes it: the local bytes and counts, those stages not redone."""
    data = planted_corpus(tmp_path, n=3000)
    recipe = dedup_recipe(data, shard_size=150)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    local = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "local", workers=2)
    workdir = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "datamill", "run", str(path), "--workdir", str(workdir), "--quiet",
                             "--workers", "2", "--executor", "local"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if list((workdir / "steps" / "02-dedup_exact").glob("*.stats.json")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the local run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (workdir / "summary.json").exists(), "the killed run had finished"
    on_ray = run_recipe(load_recipe_data(recipe, tmp_path), workdir, workers=2, executor="ray")
    assert exports(workdir / "export") == exports(tmp_path / "local" / "export")
    assert counts(on_ray) == counts(local) and on_ray["reconciled"]
    assert _resumed_stages(on_ray["log"]) == ["00-read", "01-filter"], on_ray["log"]
    assert _one_line(on_ray["log"]).startswith("ray: ")


def _busy_ray_worker() -> Any:
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if cmd.startswith("ray::_run_task"):
            return proc
    return None


def test_a_worker_killed_mid_stage_is_retried_and_the_output_is_unchanged(ray_local: Any, tmp_path: Path) -> None:
    data = planted_corpus(tmp_path, n=6000)
    recipe = dedup_recipe(data, shard_size=150)
    local = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "local", workers=2)
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            proc = _busy_ray_worker()
            if proc is not None and list((tmp_path / "ray" / "steps").glob("*/*.stats.json")):
                os.kill(proc.pid, signal.SIGKILL)
                killed.append(proc.pid)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one)
    killer.start()
    try:
        on_ray = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "ray", workers=2, executor="ray")
    finally:
        killer.join()
    assert killed, "no busy Ray worker was found to kill"
    assert exports(tmp_path / "ray" / "export") == exports(tmp_path / "local" / "export")
    assert counts(on_ray) == counts(local) and on_ray["reconciled"]


def _s3_files(s3: Any, prefix: str) -> dict[str, bytes]:
    out = {}
    for page in s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            out[key[len(prefix):]] = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return out


def test_work_directory_on_s3_gives_the_local_bytes_and_resumes(ray_local: Any, tmp_path: Path, s3: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAMILL_CACHE", str(tmp_path / "cache"))
    data = planted_corpus(tmp_path, n=900)
    recipe = dedup_recipe(data, shard_size=200)
    local = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "local", workers=2)
    url = f"s3://{s3.bucket}/runs/planted"
    on_ray = run_recipe(load_recipe_data(recipe, tmp_path), url, workers=2, executor="ray")
    assert _s3_files(s3, "runs/planted/export/") == exports(tmp_path / "local" / "export")
    assert counts(on_ray) == counts(local) and on_ray["workdir"] == url
    stored = _s3_files(s3, "runs/planted/steps/")
    assert any(k.endswith(".jsonl.zst") for k in stored) and "00-read/_SUCCESS" in stored
    # nothing of the work directory is kept on local disk but caches and artifacts
    scratch = tmp_path / "cache" / "workdirs"
    assert not [p for p in scratch.rglob("*.jsonl.zst")], "shards must live in the store, not the scratch folder"
    again = run_recipe(load_recipe_data(recipe, tmp_path), url, workers=2)  # resumed by the local executor
    assert all("skipped (resume)" in line or not line.startswith("0") for line in again["log"])
    assert sum("skipped (resume)" in line for line in again["log"]) == len(recipe["steps"]) + 1 + 2
    assert _s3_files(s3, "runs/planted/export/") == exports(tmp_path / "local" / "export")


def _judge_reply(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(body["messages"][0]["content"].encode()).hexdigest()
    issues = [] if int(digest[0], 16) % 3 else [{"category": "clarity", "severity": "minor", "span": "x"}]
    return json.dumps({"score": 9, "issues": issues, "reasoning": "ok"})


def _judge_run(tmp_path: Path, name: str, url: str, executor: str, n: int) -> tuple[dict[str, Any], float]:
    data = tmp_path / "judge.jsonl"
    if not data.exists():  # every 10th prompt repeats one of another shard: paid once across workers
        data.write_text("".join(json.dumps({"instruction": f"item {i if i % 10 else i // 10}", "output": "x"}) + "\n"
                                for i in range(n)))
    # one shard per worker: two steady request streams sharing the limit (gaps between shard tasks would
    # measure task scheduling, not the limiter)
    recipe = {"name": "judge", "inputs": [{"path": str(data)}], "executor": {"shard_size": n // 2},
              "llm": {"base_url": url, "model": "mock", "rpm": 600, "concurrency": 8},
              "steps": [{"llm_judge": {"rubric": "sft-quality"}}],
              "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
    started = time.perf_counter()
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / name, workers=2, executor=executor)
    return summary, time.perf_counter() - started


def test_llm_judge_on_two_workers_keeps_the_rate_and_pays_once(ray_local: Any, tmp_path: Path) -> None:
    from datamill.llm.mockserver import MockServer, MockState

    n = 200
    results = {}
    for executor in ("local", "ray"):
        server = MockServer(MockState(rpm=600, latency=(0.3, 1.0), error_rate=0.02, reply=_judge_reply)).start()
        try:
            summary, _ = _judge_run(tmp_path, executor, server.url, executor, n)
        finally:
            server.stop()
        results[executor] = (summary, server.state.stats())
    (ray_summary, ray_stats), local_stats = results["ray"], results["local"][1]
    unique = len({f"item {i if i % 10 else i // 10}" for i in range(n)})
    assert ray_summary["reconciled"] and ray_summary["totals"]["written"] == n
    assert ray_stats["duplicates"] == 0 and ray_stats["unique"] == unique, ray_stats
    assert ray_stats["admitted_rpm"] >= 0.95 * 600, ray_stats
    assert ray_stats["rejected_429"] <= local_stats["rejected_429"], (ray_stats, local_stats)
    assert (Path(tmp_path / "ray" / "export" / "data.jsonl").read_bytes()
            == Path(tmp_path / "local" / "export" / "data.jsonl").read_bytes())
