"""The handoff check on the seed exports and on real corpora: SmolLM2's tokenizer, three trainers.

    python benchmarks/train/bench_check.py [--runs runs/] [--corpora ../shared/corpora] > table.md

For each file: records, token-length percentiles, records over 1024/2048/4096 tokens, and per trainer
(LLaMA-Factory cutoff_len 2048, TRL max_length 1024, XTuner max_length 2048) how many it truncates,
how many answers lose their end-of-turn token, and what it rejects or silently alters. Not a test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from datamill.handoff.check import check_handoff
from datamill.models import load_tokenizer

CORPORA = [
    "2_llamafactory/alpaca_zh_demo.json",
    "2_llamafactory/glaive_toolcall_en_demo.json",
    "2_llamafactory/dpo_zh_demo.json",
    "2_llamafactory/kto_en_demo.json",
    "2_llamafactory/v1_sft_demo.jsonl",
    "2_llamafactory/reason_tool_use_demo_50.jsonl",
    "2_llamafactory/wiki_demo.txt",
    "2_fastchat_sharegpt/dummy_conversation.json",
    "4_gsm8k/train.jsonl",
    "5_chatdoctor/chatdoctor5k.json",
    "5_medicalgpt/medical_sft_1K_format.jsonl",
]
RUNS = ["seed002-medical", "seed003-arithmetic", "seed004-ruozhiba"]
BACKENDS = (("llamafactory", 2048), ("trl", 1024), ("xtuner", 2048))


def _fmt(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counter.items()) or "-"


def row(name: str, path: Path, tokenizer: Any) -> str:
    started = time.perf_counter()
    cells = []
    base: dict[str, Any] = {}
    for backend, limit in BACKENDS:
        report = check_handoff(path, "smollm2", backend=backend, cutoff_len=limit, tokenizer=tokenizer)
        base = base or report
        trunc = dict(report["truncated"])
        n = trunc.pop("records")
        cell = f"{n} ({_fmt(trunc)}); eot lost {report['end_of_turn']['lost_by_truncation']}"
        if report["rejected"] or report["altered"]:
            cell += f"; rejected: {_fmt(report['rejected'])}; altered: {_fmt(report['altered'])}"
        cells.append(cell)
    tokens = [s["tokens"] for s in base["by_split"].values()]
    p50 = max(t.get("p50", 0) for t in tokens)
    top = max(t.get("max", 0) for t in tokens)
    over = base["over"]
    seconds = time.perf_counter() - started
    return (f"| {name} | {base['records']} | {p50:.0f} | {top} | {over['1024']} | {over['2048']} | {over['4096']} | "
            + " | ".join(cells) + f" | {seconds:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--corpora", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "corpora")
    args = parser.parse_args()
    tokenizer = load_tokenizer("smollm2")
    print("| data | records | p50 tokens | max | >1024 | >2048 | >4096 | LLaMA-Factory (2048) | TRL (1024) | "
          "XTuner (2048) | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|")
    for run in RUNS:
        if (args.runs / run / "summary.json").is_file():
            print(row(f"run {run}", args.runs / run, tokenizer), flush=True)
    for rel in CORPORA:
        if (args.corpora / rel).is_file():
            print(row(rel, args.corpora / rel, tokenizer), flush=True)


if __name__ == "__main__":
    main()
