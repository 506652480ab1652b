"""Core engine benchmark: records/s and peak memory (RSS of the run and its workers) vs input size.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_core.py --records 1000000 5000000

Generates Alpaca-style JSONL (8 files, 30% exact duplicates, mixed Chinese/English), then runs
read -> filter -> dedup_exact -> split -> export (JSONL) with the local executor, sampling the RSS of
the whole process tree every 50 ms. Prints a Markdown table (paste it into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil
import yaml

FILES = 8


def generate(root: Path, n: int) -> int:
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    unique = int(n * 0.7)
    size = 0
    per_file = n // FILES
    for f in range(FILES):
        with open(root / f"part-{f}.jsonl", "wb") as fh:
            buf = []
            for _ in range(per_file if f < FILES - 1 else n - per_file * (FILES - 1)):
                k = rng.randrange(unique)
                if k % 3 == 0:
                    row = {"instruction": f"计算 {k} 加 {k % 97} 等于多少？", "input": "",
                           "output": f"{k} + {k % 97} = {k + k % 97}"}
                else:
                    row = {"instruction": f"Explain item number {k} in one sentence.", "input": "",
                           "output": f"Item {k} is an example record used to benchmark datamill's engine."}
                buf.append(orjson.dumps(row) + b"\n")
                if len(buf) >= 10000:
                    data = b"".join(buf)
                    size += len(data)
                    fh.write(data)
                    buf.clear()
            data = b"".join(buf)
            size += len(data)
            fh.write(data)
    return size


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            procs = [proc, *proc.children(recursive=True)]
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"run failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return seconds, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shard-size", type=int, default=50_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated data and work directory")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rows = []
    for n in args.records:
        with tempfile.TemporaryDirectory(prefix="datamill-bench-") as tmp:
            root = Path(tmp)
            size = generate(root / "data", n)
            recipe = {
                "name": "bench",
                "inputs": [{"path": "data/*.jsonl", "format": "alpaca"}],
                "steps": [
                    {"filter": {"expr": "len(answer) > 0"}},
                    {"dedup_exact": {"on": "prompt+answer"}},
                    {"split": {"ratios": {"train": 0.99, "test": 0.01}, "seed": 0}},
                ],
                "outputs": [{"format": "jsonl", "path": "export/"}],
                "executor": {"shard_size": args.shard_size, "workers": args.workers},
            }
            (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
            cmd = [sys.executable, "-m", "datamill", "run", str(root / "recipe.yaml"), "--workdir",
                   str(root / "run"), "--quiet"]
            seconds, peak = measure(cmd, env)
            summary = json.loads((root / "run/summary.json").read_text())
            assert summary["reconciled"], summary["totals"]
            stage_rates = {s["name"]: round(s["in"] / s["seconds"]) if s["seconds"] else None
                           for s in summary["steps"]}
            rows.append((n, size, seconds, peak, summary["totals"]["written"], stage_rates))
            if args.keep:
                os.system(f"cp -r {root} {root}-kept")
    print("| records | input MB | wall s | records/s (end to end) | peak RSS MB (all processes) | written |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, size, seconds, peak, written, _ in rows:
        print(f"| {n:,} | {size / 1e6:,.0f} | {seconds:,.1f} | {n / seconds:,.0f} | {peak / 1e6:,.0f} | {written:,} |")
    print()
    for n, *_, rates in rows:
        print(f"per-stage records/s per worker-second at {n:,}: {rates}")


if __name__ == "__main__":
    main()
