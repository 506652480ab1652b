"""Build-report benchmark: what collecting the per-shard profiles costs a run, and how long the report takes.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_report.py --records 100000 --repeat 3
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_report.py --records 1000000 --repeat 1

Generates Alpaca-style JSONL (8 files, mixed Chinese/English, answers of 10-3,000 characters, 20% exact
duplicates, 2% empty answers), then runs read -> filter -> normalize -> dedup_exact -> split -> export
(JSONL) twice per repeat, alternating: with the profiles (as datamill runs) and with the profile hooks
replaced by no-ops (the engine without the report). Then builds the report of the profiled run in a
fresh process, sampling its peak RSS. Prints a Markdown table (docs/report.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import psutil
import yaml

FILES = 8
WORDS = ["data", "model", "train", "answer", "question", "river", "light", "number", "system", "value"]
HANZI = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你"


def text(rng: random.Random, n: int) -> str:
    if rng.random() < 0.5:
        return "".join(rng.choice(HANZI) for _ in range(n))
    out: list[str] = []
    while sum(len(w) + 1 for w in out) < n:
        out.append(rng.choice(WORDS))
    return " ".join(out)


def generate(root: Path, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    rows: list[bytes] = []
    for i in range(n):
        if i and rng.random() < 0.2:
            rows.append(rows[rng.randrange(len(rows))])
            continue
        answer = "" if rng.random() < 0.02 else text(rng, int(10 * 300 ** rng.random()))
        rows.append(orjson.dumps({"instruction": f"{i}: " + text(rng, rng.randrange(8, 120)), "input": "",
                                  "output": answer, "topic": rng.choice(["math", "poem", "code", "chat"])}) + b"\n")
    per_file = n // FILES
    for f in range(FILES):
        part = rows[f * per_file: (f + 1) * per_file if f < FILES - 1 else n]
        (root / f"part-{f}.jsonl").write_bytes(b"".join(part))


def recipe(data: Path) -> dict[str, Any]:
    return {
        "name": "bench-report",
        "inputs": [{"path": str(data / "*.jsonl")}],
        "steps": [
            {"filter": {"expr": "len(strip(answer)) > 0", "reason": "empty_answer"}},
            {"normalize": {"on": "answer"}},
            {"dedup_exact": {"on": "prompt+answer"}},
            {"split": {"ratios": {"train": 0.9, "test": 0.1}, "seed": 0}},
        ],
        "outputs": [{"format": "jsonl", "path": "export/"}],
    }


def no_profiles() -> None:
    """Replace the profile hooks with no-ops (workers are forked after this, so they inherit it)."""
    from datamill.report import profile

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    for name in ("kept", "kept_raw", "dropped", "dropped_raw", "written", "write"):
        setattr(profile.Profile, name, nothing)


def run_once(recipe_path: Path, workdir: Path, profiles: bool) -> tuple[float, float]:
    """One run in a child process (so the no-op patch never leaks into the other mode): wall seconds and
    CPU seconds (user + system of the run and its workers, which a busy machine does not inflate)."""
    here = str(Path(__file__).parent)
    code = (f"import sys; from pathlib import Path; sys.path.insert(0, {here!r}); import bench_report as b\n"
            f"if not {profiles!r}: b.no_profiles()\n"
            "from datamill.exec.run import run_recipe; from datamill.recipe.load import load_recipe\n"
            f"run_recipe(load_recipe(Path({str(recipe_path)!r})), Path({str(workdir)!r}))\n")
    shutil.rmtree(workdir, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - started, cpu


def report_once(workdir: Path) -> tuple[float, int]:
    code = ("from pathlib import Path; from datamill.report.build import build_report\n"
            f"build_report(Path({str(workdir)!r}))\n")
    started = time.perf_counter()
    proc = psutil.Popen([sys.executable, "-c", code], env=os.environ.copy())
    peak = 0
    while proc.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            peak = max(peak, proc.memory_info().rss)
        time.sleep(0.02)
    if proc.returncode:
        raise SystemExit("report failed")
    return time.perf_counter() - started, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the runs without profiles (report time only)")
    args = parser.parse_args()
    rows = []
    for n in args.records:
        root = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
        data = root / f"data-{n}"
        if not data.exists():
            generate(data, n)
        recipe_path = root / f"recipe-{n}.yaml"
        recipe_path.write_text(yaml.safe_dump(recipe(data)))
        with_p: list[tuple[float, float]] = []
        without: list[tuple[float, float]] = []
        for _ in range(args.repeat):
            if not args.no_baseline:
                without.append(run_once(recipe_path, root / f"run-off-{n}", profiles=False))
            with_p.append(run_once(recipe_path, root / f"run-on-{n}", profiles=True))
        seconds, peak = report_once(root / f"run-on-{n}")
        report = root / f"run-on-{n}" / "report"
        profiles = sum(p.stat().st_size for p in (root / f"run-on-{n}" / "steps").rglob("*.profile.json"))
        on_wall, on_cpu = (statistics.median(x) for x in zip(*with_p, strict=True))
        if without:
            off_wall, off_cpu = (statistics.median(x) for x in zip(*without, strict=True))
            base = (f"{off_wall:.1f} | {on_wall:.1f} | {off_cpu:.1f} | {on_cpu:.1f} | "
                    f"{100 * (on_cpu - off_cpu) / off_cpu:+.1f}%")
        else:
            base = f"- | {on_wall:.1f} | - | {on_cpu:.1f} | -"
        html_mb = (report / "index.html").stat().st_size / 1e6
        json_mb = (report / "report.json").stat().st_size / 1e6
        rows.append(f"| {n:,} | {args.repeat} | {base} | {profiles / 1e6:.2f} | {seconds:.1f} | {peak / 2**20:.0f} | "
                    f"{html_mb:.2f} | {json_mb:.2f} |")
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print("| records | repeats | wall without profiles (s) | wall with (s) | CPU without (s) | CPU with (s) | "
          "overhead (CPU) | profiles on disk (MB) | report (s) | report peak RSS (MiB) | index.html (MB) | "
          "report.json (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
