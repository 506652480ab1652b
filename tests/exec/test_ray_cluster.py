"""A two-node Ray cluster on loopback (``ray start --head`` + a second ``ray start --address``, one CPU each)
with the work directory on a local S3: drivers run as ``datamill run --executor ray --address ...``
subprocesses, so one can be killed mid-run; the local executor finishes the killed run with the local bytes
and counts, and Ray then finds nothing left to do."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data
from fixtures.servers import free_port

pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

from exec.test_ray import counts, dedup_recipe, exports, planted_corpus  # noqa: E402


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    endpoint: str


def _tagged(tag: str) -> list[Any]:
    """Every process started for this cluster: they all inherit the tag in their environment."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("DATAMILL_TEST_RAY") == tag:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _stop(tag: str) -> None:
    procs = _tagged(tag)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=10)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


@pytest.fixture(scope="module")
def cluster(s3_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Head + second node on 127.0.0.1, stopped (every process, by the tag in its environment) at the end."""
    tag = uuid.uuid4().hex
    ray_bin = str(Path(sys.executable).parent / "ray")
    temp = Path(f"/tmp/dmr{tag[:8]}")  # Ray's socket paths must stay short
    env = dict(os.environ, DATAMILL_TEST_RAY=tag, RAY_AUTH_MODE="disabled", OMP_NUM_THREADS="1",
               AWS_ENDPOINT_URL=s3_server, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", RAY_USAGE_STATS_ENABLED="0",
               DATAMILL_CACHE=str(tmp_path_factory.mktemp("driver-cache")),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                           os.environ.get("PYTHONPATH", "")]))
    port = free_port()
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--object-store-memory", str(80 << 20),
              "--disable-usage-stats"]
    log = tmp_path_factory.mktemp("ray-logs")
    try:
        for args, name in (
            (["--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", str(temp),
              "--resources", '{"head_node": 1}'], "head"),
            (["--address", f"127.0.0.1:{port}", "--resources", '{"second_node": 1}'], "second"),
        ):
            with open(log / f"{name}.log", "wb") as fh:
                rc = subprocess.run([ray_bin, "start", *common, *args, "--dashboard-agent-listen-port",
                                     str(free_port())], env=env, stdout=fh, stderr=fh, timeout=180).returncode
            if rc != 0:
                pytest.fail(f"ray start ({name}) failed: {(log / f'{name}.log').read_text()[-2000:]}")
        yield Cluster(f"127.0.0.1:{port}", env, s3_server)
    finally:
        _stop(tag)


def _bucket(cluster: Cluster) -> str:
    import boto3

    client = boto3.client("s3", endpoint_url=cluster.endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    bucket = f"cluster-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    return bucket


def _s3_exports(cluster: Cluster, bucket: str, prefix: str) -> dict[str, bytes]:
    import boto3

    client = boto3.client("s3", endpoint_url=cluster.endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"][len(prefix):]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def _driver(cluster: Cluster, recipe: Path, workdir: str, executor: str = "ray") -> list[str]:
    cmd = [sys.executable, "-m", "datamill", "run", str(recipe), "--workdir", workdir, "--quiet", "--workers", "2",
           "--executor", executor]
    return [*cmd, "--address", cluster.address] if executor == "ray" else cmd


def test_two_nodes_on_s3_give_the_local_bytes_and_survive_a_killed_driver(cluster: Cluster, tmp_path: Path) -> None:
    data = planted_corpus(tmp_path, n=3000)
    recipe = dedup_recipe(data, shard_size=150)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    reference = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "local", workers=2)
    expected = exports(tmp_path / "local" / "export")

    bucket = _bucket(cluster)
    url = f"s3://{bucket}/runs/x"
    done = subprocess.run(_driver(cluster, path, url), env=cluster.env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _s3_exports(cluster, bucket, "runs/x/export/") == expected
    summary = _summary(cluster, bucket, "runs/x")
    assert summary["reconciled"] and counts(summary) == counts(reference)
    # both nodes ran tasks (two in flight, one CPU per node)
    placed = [line for line in summary["log"] if line.startswith("ray: ")]
    assert len(placed) == 1 and re.match(r"ray: \d+ tasks on 2 nodes \(", placed[0]), summary["log"]

    # the driver killed mid-run (SIGKILL) while the exact dedup applies its plan, the stages before it done
    url = f"s3://{bucket}/runs/killed"
    proc = subprocess.Popen(_driver(cluster, path, url), env=cluster.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        stored = _s3_exports(cluster, bucket, "runs/killed/steps/02-dedup_exact/")
        if any(k.endswith(".stats.json") for k in stored):
            break
        time.sleep(0.3)
    assert proc.poll() is None, "the driver finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _s3_exports(cluster, bucket, "runs/killed/summary.json") == {}, "the killed run had finished"
    # finished by the local executor on the same shared work directory: the local bytes and counts, and the
    # stages the Ray run had finished (the read and the filter) are not redone
    local = subprocess.run(_driver(cluster, path, url, executor="local"), env=cluster.env, capture_output=True,
                           text=True, timeout=600)
    assert local.returncode == 0, local.stderr[-3000:]
    assert _s3_exports(cluster, bucket, "runs/killed/export/") == expected
    resumed = _summary(cluster, bucket, "runs/killed")
    assert resumed["reconciled"] and counts(resumed) == counts(reference)
    skipped = [line.split(":")[0] for line in resumed["log"] if line.endswith(": unchanged, skipped (resume)")]
    assert skipped == ["00-read", "01-filter"], resumed["log"]
    # Ray again: everything is done, nothing runs
    again = subprocess.run(_driver(cluster, path, url), env=cluster.env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _s3_exports(cluster, bucket, "runs/killed/export/") == expected
    final = _summary(cluster, bucket, "runs/killed")
    assert sum("skipped (resume)" in line for line in final["log"]) == len(recipe["steps"]) + 1 + 2
    assert not [line for line in final["log"] if line.startswith("ray: ")], final["log"]
    assert final["reconciled"] and counts(final) == counts(reference)


def _summary(cluster: Cluster, bucket: str, prefix: str) -> dict[str, Any]:
    return json.loads(_s3_exports(cluster, bucket, f"{prefix}/summary.json")[""])
