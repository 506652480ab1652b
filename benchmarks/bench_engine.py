"""The engine side by side with a peer and with the simple limit, on the same pipeline and corpus.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_engine.py --records 1000000 --repeat 3

Corpus: ``bench_core.generate`` (Alpaca-style JSON Lines in 8 files, a third Chinese, ~30% exact
duplicates). Pipeline: read -> keep records whose answer has >= 10 characters -> exact dedup on
prompt + answer (first occurrence in input order survives) -> JSON Lines. Engines, each in its own
process, with 2 workers:

* ``datamill``: the recipe below through ``datamill run``.
* ``datatrove``: datatrove 0.10.1's JsonlReader -> LambdaFilter -> its three exact-dedup stages
  (signature, find, filter) -> JsonlWriter, with its local executor; installed by this script into a
  virtual environment of its own (``benchmarks/out/venv-datatrove``), so its pins never touch ours.
* ``limit``: one Python process on one core: orjson read, xxh3 set, orjson write (the simple lower bound).

Engines alternate, ``--repeat`` times; the table shows medians of wall seconds, CPU seconds (user + system
of the process and all its children) and peak RSS (sampled every 50 ms over the process tree). Every
engine must keep the same number of records. ``--single-file`` also runs datamill on the corpus as one
file with 1 and 2 workers (byte-range splitting).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import generate

HERE = Path(__file__).resolve().parent
VENV = HERE / "out" / "venv-datatrove"

DATATROVE = r'''
import sys, time
from pathlib import Path
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.dedup.exact_dedup import (ExactDedupConfig, ExactDedupFilter, ExactDedupSignature,
                                                  ExactFindDedups)
from datatrove.pipeline.filters import LambdaFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.data import Document

data, work, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
files = len(list(data.glob("*.jsonl")))


def adapter(self, row: dict, path: str, id_in_file: int) -> dict:
    # prompt + answer is what is compared; the row is kept whole as metadata (as datamill keeps it)
    return {"text": row["instruction"] + "\n" + row["input"] + "\n" + row["output"], "id": f"{path}:{id_in_file}",
            "metadata": row}


def content(doc: Document) -> str:
    return doc.text


config = ExactDedupConfig(content_getter=content)


def reader():
    return JsonlReader(str(data), adapter=adapter)


def long_enough(doc: Document) -> bool:
    return len(doc.metadata["output"]) >= 10


if __name__ == "__main__":  # datatrove's executor spawns its workers
    stages = [
        ([reader(), LambdaFilter(long_enough), ExactDedupSignature(str(work / "sigs"), config=config)], files),
        ([ExactFindDedups(str(work / "sigs"), str(work / "dups"), config=config)], 1),
        ([reader(), LambdaFilter(long_enough), ExactDedupFilter(str(work / "dups"), config=config),
          JsonlWriter(str(work / "out"), compression=None)], files),
    ]
    for i, (pipeline, tasks) in enumerate(stages):
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                              logging_dir=str(work / f"logs{i}"), skip_completed=False).run()
'''

LIMIT = r'''
import sys
from pathlib import Path
import orjson, xxhash

data, out = Path(sys.argv[1]), Path(sys.argv[2])
seen = set()
with open(out, "wb") as fh:
    for path in sorted(data.glob("*.jsonl")):
        with open(path, "rb") as src:
            for line in src:
                row = orjson.loads(line)
                if len(row["output"]) < 10:
                    continue
                text = row["instruction"] + "\n" + row["input"] + "\n" + row["output"]
                key = xxhash.xxh3_64_intdigest(text.encode())
                if key in seen:
                    continue
                seen.add(key)
                fh.write(orjson.dumps(row) + b"\n")
'''


def datatrove_python() -> str:
    """The datatrove environment's interpreter (created on first use: datatrove 0.10.1 + its needs)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        # datatrove 0.10.1 hashes str, which xxhash 4 refuses ("Strings must be encoded before hashing")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "datatrove==0.10.1", "orjson", "regex",
                        "tokenizers", "xxhash<4"], check=True)
    return str(python)


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process and every descendant it waited for, peak RSS bytes of the
    process tree sampled every 50 ms)."""
    import threading

    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    cpu: dict[int, float] = {}

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not done.is_set():
            total = 0
            with contextlib.suppress(psutil.NoSuchProcess):
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += p.memory_info().rss
                        t = p.cpu_times()
                        cpu[p.pid] = t.user + t.system
            peak = max(peak, total)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[:3]} failed: {stderr.decode()[-3000:]}")
    # wait4 counts the descendants their parents waited for; workers that were never waited for (datatrove's
    # spawned pools) are counted from the samples instead (each process's own CPU, last seen <= 50 ms before
    # it ended): the larger of the two
    return seconds, max(usage.ru_utime + usage.ru_stime, sum(cpu.values())), peak


def count_lines(folder: Path) -> int:
    return sum(sum(1 for _ in open(p, "rb")) for p in folder.rglob("*.jsonl"))


def run_datamill(data: Path, work: Path, env: dict[str, str], workers: int) -> tuple[float, float, int, int]:
    recipe = {
        "name": "bench",
        "inputs": [{"path": str(data / "*.jsonl"), "format": "alpaca"}],
        "steps": [{"filter": {"expr": "len(answer) >= 10"}}, {"dedup_exact": {"on": "prompt+answer"}}],
        "outputs": [{"format": "jsonl", "path": str(work / "out"), "split_by": None}],
        "executor": {"workers": workers, "shard_size": 50_000},
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    cmd = [sys.executable, "-m", "datamill", "run", str(work / "recipe.yaml"), "--workdir", str(work / "run"),
           "--quiet", "--fresh", "--no-report"]
    if "--no-report" not in subprocess.run([sys.executable, "-m", "datamill", "run", "--help"], env=env,
                                           capture_output=True, text=True).stdout:
        cmd.remove("--no-report")
    wall, cpu, peak = measure(cmd, env)
    summary = json.loads((work / "run/summary.json").read_text())
    assert summary["reconciled"]
    return wall, cpu, peak, int(summary["totals"]["written"])


def run_datatrove(data: Path, work: Path, env: dict[str, str], workers: int) -> tuple[float, float, int, int]:
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    script = work.parent / "datatrove_pipeline.py"
    script.write_text(DATATROVE)
    wall, cpu, peak = measure([datatrove_python(), str(script), str(data), str(work), str(workers)], env)
    return wall, cpu, peak, count_lines(work / "out")


def run_limit(data: Path, work: Path, env: dict[str, str]) -> tuple[float, float, int, int]:
    work.mkdir(parents=True, exist_ok=True)
    script = work.parent / "limit.py"
    script.write_text(LIMIT)
    wall, cpu, peak = measure([sys.executable, str(script), str(data), str(work / "out.jsonl")], env)
    return wall, cpu, peak, count_lines(work)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--engines", default="datamill,datatrove,limit")
    ap.add_argument("--single-file", action="store_true", help="also: the corpus as one file, 1 vs 2 workers")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    engines = args.engines.split(",")
    results: dict[str, list[tuple[float, float, int, int]]] = {e: [] for e in engines}
    with tempfile.TemporaryDirectory(prefix="datamill-engine-") as tmp:
        root = Path(tmp)
        size = generate(root / "data", args.records)
        for r in range(args.repeat):
            for engine in engines if r % 2 == 0 else reversed(engines):
                work = root / f"{engine}-{r}"
                if engine == "datamill":
                    res = run_datamill(root / "data", work, env, args.workers)
                elif engine == "datatrove":
                    res = run_datatrove(root / "data", work, env, args.workers)
                else:
                    res = run_limit(root / "data", work, env)
                results[engine].append(res)
                print(f"run {r} {engine}: wall {res[0]:.1f} s, cpu {res[1]:.1f} s, peak {res[2] / 1e6:.0f} MB, "
                      f"kept {res[3]:,}", file=sys.stderr)
        single: list[tuple[int, float, float]] = []
        if args.single_file:
            one = root / "one"
            one.mkdir()
            with open(one / "all.jsonl", "wb") as fh:
                for p in sorted((root / "data").glob("*.jsonl")):
                    fh.write(p.read_bytes())
            for workers in (1, 2):
                runs = [run_datamill(one, root / f"single-{workers}-{r}", env, workers) for r in range(args.repeat)]
                single.append((workers, statistics.median(x[0] for x in runs), statistics.median(x[1] for x in runs)))
    kept = {e: {x[3] for x in res} for e, res in results.items()}
    print(f"\n{args.records:,} records ({size / 1e6:,.0f} MB), {args.workers} workers, medians of {args.repeat}\n")
    print("| engine | wall s | CPU s | peak RSS MB | kept |")
    print("|---|---:|---:|---:|---:|")
    for engine, res in results.items():
        kept_text = "/".join(f"{k:,}" for k in sorted(kept[engine]))
        print(f"| {engine} | {statistics.median(x[0] for x in res):.1f} | {statistics.median(x[1] for x in res):.1f} "
              f"| {statistics.median(x[2] for x in res) / 1e6:.0f} | {kept_text} |")
    if len({k for ks in kept.values() for k in ks}) != 1:
        print("\nWARNING: the engines kept different numbers of records")
    for workers, wall, cpu in single:
        print(f"\nsingle file, {workers} worker(s): wall {wall:.1f} s, CPU {cpu:.1f} s")


if __name__ == "__main__":
    main()
