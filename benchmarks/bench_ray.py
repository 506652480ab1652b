"""The Ray executor against the local one on this machine, and how it scales with nodes.

Pipeline (the core benchmark's, issue 14): read 8 JSON Lines files -> ``filter: len(answer) >= 10`` ->
``dedup_exact: {on: prompt+answer}`` -> JSON Lines. Each run is a ``datamill run`` subprocess; the local
and the Ray executor (a Ray instance started by the run, 2 CPUs) alternate, medians of ``--repeat``, and
every run must keep the same records (the exports are compared byte for byte). ``--cluster`` adds the
loopback cluster: one node of 1 CPU, then two nodes of 1 CPU each (``ray start``), the driver joining
with ``--address``; work directory on local disk (both nodes are this machine).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ray.py --records 200000 --repeat 3 --cluster
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import yaml
from bench_core import generate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(data: Path, work: Path, env: dict[str, str], args: list[str]) -> tuple[float, str]:
    recipe = {
        "name": "bench",
        "inputs": [{"path": str(data / "*.jsonl"), "format": "alpaca"}],
        "steps": [{"filter": {"expr": "len(answer) >= 10"}}, {"dedup_exact": {"on": "prompt+answer"}}],
        "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}],
        "executor": {"shard_size": 50_000},
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    cmd = [sys.executable, "-m", "datamill", "run", str(work / "recipe.yaml"), "--workdir", str(work / "run"),
           "--quiet", "--fresh", *args]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"run failed: {done.stderr[-3000:]}")
    digest = hashlib.sha1((work / "run" / "export" / "data.jsonl").read_bytes()).hexdigest()
    return wall, digest


class LoopbackCluster:
    """``ray start`` nodes on 127.0.0.1, every process tagged in its environment and stopped by that tag."""

    def __init__(self, env: dict[str, str]) -> None:
        self.tag = uuid.uuid4().hex
        self.env = dict(env, DATAMILL_BENCH_RAY=self.tag, RAY_AUTH_MODE="disabled")
        self.port = free_port()
        self.ray = str(Path(sys.executable).parent / "ray")

    def add_node(self, head: bool) -> None:
        common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--object-store-memory", str(128 << 20),
                  "--disable-usage-stats", "--dashboard-agent-listen-port", str(free_port())]
        where = ["--head", "--port", str(self.port), "--include-dashboard", "false",
                 "--temp-dir", f"/tmp/dmb{self.tag[:8]}"] if head else ["--address", self.address]
        subprocess.run([self.ray, "start", *common, *where], env=self.env, check=True, capture_output=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        procs = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("DATAMILL_BENCH_RAY") == self.tag:
                    procs.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        for proc in procs:
            proc.terminate()
        _, alive = psutil.wait_procs(procs, timeout=10)
        for proc in alive:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cluster", action="store_true", help="also the loopback cluster, 1 node then 2 nodes")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0", RAY_USAGE_STATS_ENABLED="0")
    rows = []
    with tempfile.TemporaryDirectory(prefix="datamill-ray-") as tmp:
        root = Path(tmp)
        size = generate(root / "data", args.records)
        walls: dict[str, list[float]] = {"local": [], "ray": []}
        digests = set()
        for r in range(args.repeat):
            order = ["local", "ray"] if r % 2 == 0 else ["ray", "local"]
            for name in order:
                flags = ["--workers", "2", "--executor", name]
                wall, digest = run(root / "data", root / f"{name}-{r}", env, flags)
                walls[name].append(wall)
                digests.add(digest)
                print(f"run {r} {name}: {wall:.1f} s", file=sys.stderr)
        local, on_ray = statistics.median(walls["local"]), statistics.median(walls["ray"])
        rows.append(("local executor, 2 processes", local, args.records / local))
        rows.append(("Ray, local instance started by the run, 2 CPUs", on_ray, args.records / on_ray))
        if args.cluster:
            cluster = LoopbackCluster(env)
            try:
                for nodes in (1, 2):
                    cluster.add_node(head=nodes == 1)
                    time.sleep(2)
                    runs = []
                    for r in range(args.repeat):
                        wall, digest = run(root / "data", root / f"cluster{nodes}-{r}", cluster.env,
                                           ["--executor", "ray", "--address", cluster.address])
                        runs.append(wall)
                        digests.add(digest)
                        print(f"cluster {nodes} node(s) run {r}: {wall:.1f} s", file=sys.stderr)
                    wall = statistics.median(runs)
                    rows.append((f"Ray loopback cluster, {nodes} node(s) x 1 CPU", wall, args.records / wall))
            finally:
                cluster.stop()
    print(f"\n{args.records:,} records ({size / 1e6:,.0f} MB), medians of {args.repeat}; "
          f"identical exports: {len(digests) == 1}\n")
    print("| executor | wall s | records/s |")
    print("|---|---:|---:|")
    for name, wall, rate in rows:
        print(f"| {name} | {wall:.1f} | {rate:,.0f} |")
    print(f"\nRay / local wall-time ratio: {on_ray / local:.2f}")


if __name__ == "__main__":
    main()
