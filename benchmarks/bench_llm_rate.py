"""LLM rate benchmark: one ``llm_label`` step against the local rate-enforcing server.

The server (``datamill.llm.mockserver``) allows ``--rpm`` requests per sliding minute (429 with
Retry-After above), answers after 0.3-1.5 s and fails 2% of calls with 500. The recipe runs with
``rpm`` set to the same limit. Prints a Markdown table: achieved rate vs limit (requests the server
admitted per minute, first to last), records in/out, lost records, duplicate paid calls, 429s, 5xx.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_llm_rate.py --rpm 600 --seconds 300
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def bench(rpm: float, seconds: float, workdir: Path, error_rate: float = 0.02) -> dict[str, Any]:
    from datamill.exec.run import run_recipe
    from datamill.llm.mockserver import MockServer, MockState
    from datamill.recipe.load import load_recipe_data

    n = int(rpm * seconds / 60)
    server = MockServer(MockState(rpm=rpm, latency=(0.3, 1.5), error_rate=error_rate)).start()
    try:
        data = workdir / "in.jsonl"
        data.write_text("".join(json.dumps({"instruction": f"item {i}", "output": "x"}) + "\n" for i in range(n)))
        recipe = {"name": "bench", "inputs": [{"path": str(data)}],
                  "llm": {"base_url": server.url, "model": "mock", "rpm": rpm},
                  "steps": [{"llm_label": {"labels": ["a", "b"]}}],
                  "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
        started = time.perf_counter()
        summary = run_recipe(load_recipe_data(recipe, workdir), workdir / "run", workers=2)
        wall = time.perf_counter() - started
        stats = server.state.stats()
    finally:
        server.stop()
    out = summary["totals"]["written"]
    lost = n - out - sum(summary["totals"]["dropped"].values())
    return {"rpm_limit": rpm, "records": n, "written": out, "lost": lost,
            "dropped": summary["totals"]["dropped"], "achieved_rpm": stats["admitted_rpm"],
            "achieved_pct": round(100 * stats["admitted_rpm"] / rpm, 1), "paid": stats["paid"],
            "duplicate_paid": stats["duplicates"], "429": stats["rejected_429"], "5xx": stats["errors_5xx"],
            "wall_s": round(wall, 1), "reconciled": summary["reconciled"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rpm", type=float, default=600)
    ap.add_argument("--seconds", type=float, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = bench(args.rpm, args.seconds, Path(tmp))
    print("| limit rpm | records | achieved rpm | % of limit | written | lost | duplicate paid | 429 | 5xx | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {r['rpm_limit']:g} | {r['records']} | {r['achieved_rpm']} | {r['achieved_pct']} | {r['written']} | "
          f"{r['lost']} | {r['duplicate_paid']} | {r['429']} | {r['5xx']} | {r['wall_s']} |")


if __name__ == "__main__":
    main()
