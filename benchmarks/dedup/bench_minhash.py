"""Near-dup benchmark: datamill's dedup_minhash through the engine vs datasketch and datatrove, same corpus.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup/bench_minhash.py --records 100000
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup/bench_minhash.py --records 1000000 --peers datatrove

The corpus: originals (half Chinese, 60 characters; half English, 40 words), a third of them with one
near copy and a third with two (one word or character changed: Jaccard of 3-gram shingles ~0.85-0.9)
and a tenth with an exact copy; ground truth = the planted groups. ``--records`` is the total count.

datamill runs as a recipe (read -> dedup_minhash -> jsonl export) with ``run_recipe(..., workers=2)``:
its time includes reading and parsing the JSONL input and writing the output, like datatrove's (which
reads JSONL and writes kept/removed JSONL). Both get the corpus as ``--workers`` JSONL files, written
before the clock starts. datasketch runs in memory on pre-parsed records (no I/O).
Prints a Markdown table: seconds, records/s, pair precision and recall against the planted truth.
"""

from __future__ import annotations

import argparse
import csv
import gc
import itertools
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from minhash_peers import run_datasketch, run_datatrove, write_datatrove_input

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data
from datamill.records import Record
from datamill.steps.registry import default_registry
from dedup.conftest import en_text, near_en, near_zh, zh_text


def corpus(total: int, seed: int = 0) -> tuple[list[Record], dict[str, int]]:
    """About ``total`` records (2.1 per original) with their planted group, shuffled; ids are row numbers."""
    rng = random.Random(seed)
    texts: list[tuple[str, int]] = []
    i = 0
    while len(texts) < total:
        zh = i % 2 == 0
        text = zh_text(rng, 60) if zh else en_text(rng, 40)
        copies = [text] if i % 10 == 0 else []
        copies += [near_zh(rng, text) if zh else near_en(rng, text) for _ in range(i % 3)]
        texts.extend((t, i) for t in [text, *copies])
        i += 1
    texts = texts[:total]
    rng.shuffle(texts)
    records: list[Record] = [{"id": f"c:{k}", "messages": [{"role": "user", "content": t}]}
                             for k, (t, _) in enumerate(texts)]
    return records, {f"c:{k}": g for k, (_, g) in enumerate(texts)}


def pair_set(groups: dict[str, str]) -> set[tuple[str, str]]:
    by: dict[str, list[str]] = {}
    for rid, g in groups.items():
        by.setdefault(g, []).append(rid)
    return {(a, b) if a < b else (b, a) for m in by.values() if len(m) > 1 for a, b in itertools.combinations(m, 2)}


def score(found: dict[str, str], truth: dict[str, int]) -> tuple[float, float]:
    t = pair_set({k: str(v) for k, v in truth.items()})
    f = pair_set(found)
    tp = len(t & f)
    return (tp / len(f) if f else 1.0), (tp / len(t) if t else 1.0)


def write_datamill_input(records: list[Record], root: Path, files: int) -> list[str]:
    """The corpus as ``files`` alpaca JSONL files (round-robin, like datatrove's input); ids: c<k>:<row>."""
    root.mkdir(parents=True, exist_ok=True)
    paths = [root / f"c{k}.jsonl" for k in range(files)]
    handles = [open(p, "w", encoding="utf-8") for p in paths]  # noqa: SIM115
    for i, r in enumerate(records):
        row = {"instruction": r["messages"][0]["content"], "output": "x"}
        handles[i % files].write(json.dumps(row, ensure_ascii=False) + "\n")
    for h in handles:
        h.close()
    return [str(p) for p in paths]


def run_datamill(ids: list[str], root: Path, paths: list[str], workers: int) -> tuple[float, dict[str, str]]:
    """The recipe through the engine (one input per file): (seconds of ``run_recipe``, groups read from
    labels.csv afterwards, keyed by the corpus ids)."""
    files = len(paths)
    recipe = {"name": "bench-minhash", "inputs": [{"name": f"c{k}", "path": p} for k, p in enumerate(paths)],
              "steps": [{"dedup_minhash": {"on": "prompt", "top_clusters": 50}}],
              "outputs": [{"format": "jsonl", "path": "export/"}]}  # engine defaults: 10k-record shards
    default_registry()  # imports of every step module before the clock, as datatrove's imports are
    started = time.perf_counter()
    run_recipe(load_recipe_data(recipe, root), root / "work", workers=workers, fresh=True)
    seconds = time.perf_counter() - started
    ours = {f"c{i % files}:{i // files}": rid for i, rid in enumerate(ids)}
    found = {rid: rid for rid in ids}
    with open(root / "work/steps/01-dedup_minhash/labels.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            found[ours[row["id"]]] = ours[row["kept_id"]]
    return seconds, found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--peers", default="datasketch,datatrove", help="comma list: datasketch, datatrove, none")
    ap.add_argument("--repeat", type=int, default=1, help="runs of datamill and datatrove (alternating); "
                    "the table shows the median and every run")
    args = ap.parse_args()
    records, truth = corpus(args.records)
    total = len(records)
    print(f"corpus: {total:,} records ({len(set(truth.values())):,} originals), "
          f"{sum(1 for r in records if not r['messages'][0]['content'].isascii()):,} Chinese\n")
    rows: list[tuple[str, float, float, float, str]] = []
    root = Path(tempfile.mkdtemp(prefix="bench-minhash-"))
    peers = args.peers.split(",")
    try:
        paths = write_datamill_input(records, root / "dm", files=args.workers)
        if "datatrove" in peers:
            write_datatrove_input(records, root / "dt-in", files=args.workers)
        ids = [r["id"] for r in records]
        # the engines fork their workers from this process: free the in-memory corpus first (millions of
        # dicts that every garbage collection in the parent and in each forked worker would traverse)
        del records
        gc.collect()
        # the engines alternate, so that a slow moment of the shared machine hits both
        times: dict[str, list[float]] = {"datamill": [], "datatrove": []}
        found_by: dict[str, dict[str, str]] = {}
        for _ in range(args.repeat):
            s, found_by["datamill"] = run_datamill(ids, root / "dm", paths, args.workers)
            times["datamill"].append(s)
            shutil.rmtree(root / "dm" / "work", ignore_errors=True)
            if "datatrove" in peers:
                s, found_by["datatrove"] = run_datatrove(root / "dt-in", root / "dt", args.workers)
                times["datatrove"].append(s)
        names = {"datamill": f"datamill recipe (read + dedup_minhash + export), {args.workers} workers",
                 "datatrove": f"datatrove MinHash 4 stages, {args.workers} workers"}
        for engine, ts in times.items():
            if ts:
                note = f"median of {len(ts)}: " + ", ".join(f"{t:.1f}" for t in ts) if len(ts) > 1 else ""
                rows.append((names[engine], statistics.median(ts), *score(found_by[engine], truth), note))
        if "datasketch" in peers:  # in memory by design: the corpus is generated again (same seed)
            records, _ = corpus(args.records)
            t = time.perf_counter()
            found = run_datasketch(records)
            s = time.perf_counter() - t
            rows.append(("datasketch MinHash + MinHashLSH, 1 process, in memory", s, *score(found, truth), ""))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("| method | seconds | records/s | pair precision | pair recall | note |")
    print("|---|---:|---:|---:|---:|---|")
    for name, s, p, r, note in rows:
        print(f"| {name} | {s:.1f} | {total / s:,.0f} | {p:.4f} | {r:.4f} | {note} |")
    if len(rows) > 1:
        best = min(s for _, s, *_ in rows[1:])
        print(f"\ndatamill speed-up over the best peer: {best / rows[0][1]:.1f}x")


if __name__ == "__main__":
    main()
