"""``datamill train --backend trl`` on SmolLM2-135M-Instruct (the real small model) for a few steps.

    python benchmarks/train/bench_train.py RUN_OR_EXPORT [--steps 20] [--batch-size 8] [--cutoff-len 256]

Prints one markdown row: examples, steps, batch, wall seconds (model load + data + training), training
seconds, seconds per step, first and last loss, peak resident memory. Not a test.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from datamill.train.run import train
from datamill.train.spec import TrainSpec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--cutoff-len", type=int, default=256)
    parser.add_argument("--split", default="train")
    parser.add_argument("--method", default="lora")
    args = parser.parse_args()
    spec = TrainSpec(model="smollm2", max_steps=args.steps, batch_size=args.batch_size, cutoff_len=args.cutoff_len,
                     split=args.split, method=args.method, lr=2e-4, save_steps=10_000, logging_steps=5)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        info = train(args.data, spec, Path(tmp) / "out", log=lambda m: print(m, flush=True))
        wall = time.perf_counter() - started
        losses = json.loads((Path(tmp) / "out" / "loss.json").read_text())
    print("| data | examples | method | steps x batch | cutoff | wall s | train s | s/step | loss first -> last | "
          "trainable params | peak RSS MB |")
    print("|---|---:|---|---|---:|---:|---:|---:|---|---:|---:|")
    print(f"| {args.data.name} | {info['examples']} | {args.method} | {info['steps']} x {args.batch_size} | "
          f"{args.cutoff_len} | {wall:.0f} | {info['seconds']:.0f} | {info['seconds'] / info['steps']:.2f} | "
          f"{losses[0]['loss']:.3f} -> {losses[-1]['loss']:.3f} | {info['trainable_parameters']:,} | "
          f"{info['peak_memory_mb']:.0f} |")


if __name__ == "__main__":
    main()
