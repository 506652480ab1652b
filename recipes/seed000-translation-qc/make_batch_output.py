"""Write Bedrock batch-inference output files (``*.jsonl.out``) from the real WMT MQM annotations.

Seed 000 ran Claude 3.5 as an LLM-as-a-judge over 481,109 translations through Bedrock batch
inference and parsed its chain-of-thought verdicts. We have no such outputs, but we have people's MQM
annotations of real zh->en translations (``mqm_ted_zhen.tsv``: one row per error span, marked
``<v>...</v>`` in the target, or in the source for source errors). This script turns them into what
the judge would have returned: the rows of one segment (system, doc_id, seg_id) become one record
whose ``modelInput`` is the judge prompt (Anthropic messages body) and whose ``modelOutput`` is an
Anthropic message: a short chain of thought, then the JSON verdict ``{"score", "issues":
[{"category", "severity", "span"}], "reasoning"}`` with the MQM categories as the raters wrote them.

Like real batch output, some records failed: every ``error_every``-th record carries Bedrock's
``error: {errorCode, errorMessage}`` instead of ``modelOutput``; every ``malformed_every``-th answer
has no verdict (a refusal, or cut off by ``max_tokens`` before the JSON); and ``corrupt_lines``
files end with a truncated line (as a broken download would). Files are written as Bedrock names
them: ``OUT/<job>/part-NNNN.jsonl.out`` (one per input file) plus ``manifest.json.out``.

    python make_batch_output.py --tsv ../../../shared/corpora/7_wmt_mqm/mqm_ted_zhen.tsv --out batch-output
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TSV = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "7_wmt_mqm" / "mqm_ted_zhen.tsv"
MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
MARK = re.compile(r"<v>(.*?)</v>", re.S)
WEIGHTS = {"minor": 1, "major": 5, "critical": 10}
PROMPT = """You are a professional translation reviewer using the MQM framework. Compare the English
translation with the Chinese source, think step by step, then list every error with its MQM category
(Accuracy/..., Fluency/..., Terminology/..., Style/..., Locale convention/...), its severity (minor,
major, critical) and the exact span. End with a JSON object: {"score": <0-100>, "issues": [{"category":
..., "severity": ..., "span": ...}], "reasoning": ...}.

Source (zh): SOURCE
Translation (en): TARGET"""


@dataclass
class Segment:
    """One translated segment and every error span the raters marked in it."""

    system: str
    doc_id: str
    seg_id: str
    source: str
    target: str
    issues: list[dict[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.system}:{self.doc_id}:{self.seg_id}"


def read_segments(tsv: Path, limit: int | None = None) -> list[Segment]:
    """Group the annotation rows by (system, doc_id, seg_id), in file order; ``limit`` segments at most."""
    segments: dict[tuple[str, str, str], Segment] = {}
    with tsv.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            key = (row["system"], row["doc_id"], row["seg_id"])
            seg = segments.get(key)
            if seg is None:
                if limit is not None and len(segments) >= limit:
                    break
                seg = Segment(*key, source=MARK.sub(r"\1", row["source"]), target=MARK.sub(r"\1", row["target"]))
                segments[key] = seg
            category, severity = row["category"].strip(), row["severity"].strip().lower()
            if category.lower() == "no-error" or severity == "no-error":
                continue
            marked = MARK.search(row["target"]) or MARK.search(row["source"])
            seg.issues.append({"category": category, "severity": severity if severity in WEIGHTS else "major",
                               "span": marked.group(1).strip() if marked else ""})
    return list(segments.values())


def judge_answer(seg: Segment) -> str:
    """The judge's answer: a chain of thought, then the JSON verdict (the score as a judge would add it up)."""
    lines = ["Let me compare the translation with the source phrase by phrase."]
    for issue in seg.issues:
        span = issue["span"].replace("{", "(").replace("}", ")") or "(the whole segment)"
        lines.append(f'- "{span}": {issue["category"]}, {issue["severity"]}.')
    if not seg.issues:
        lines.append("The meaning is fully preserved and the English reads naturally; I find no errors.")
    score = max(0, 100 - sum(WEIGHTS[i["severity"]] for i in seg.issues))
    reasoning = (f"{len(seg.issues)} error(s), the most serious: {seg.issues[0]['category']}." if seg.issues
                 else "No errors found.")
    verdict = {"score": score, "issues": seg.issues, "reasoning": reasoning}
    return "\n".join(lines) + "\n\nVerdict:\n```json\n" + json.dumps(verdict, ensure_ascii=False) + "\n```"


def model_input(seg: Segment) -> dict[str, Any]:
    text = PROMPT.replace("SOURCE", seg.source).replace("TARGET", seg.target)
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 2048, "temperature": 0,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}


def model_output(text: str, stop_reason: str = "end_turn", input_tokens: int = 0) -> dict[str, Any]:
    return {"id": "msg_bdrk_" + hashlib.sha1(text.encode()).hexdigest()[:12], "type": "message", "role": "assistant",
            "model": "claude-3-5-sonnet-20241022", "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": max(1, len(text) // 4)}}


def batch_row(i: int, seg: Segment, error_every: int, malformed_every: int) -> dict[str, Any]:
    """The output line of record ``i``: a verdict, a provider error, or an answer without a verdict."""
    row: dict[str, Any] = {"recordId": seg.key, "modelInput": model_input(seg)}
    tokens = len(row["modelInput"]["messages"][0]["content"][0]["text"]) // 3
    if error_every and i % error_every == error_every - 1:
        row["error"] = {"errorCode": 400, "errorMessage": "ValidationException: The model returned an error."}
    elif malformed_every and i % malformed_every == malformed_every - 1:
        if (i // malformed_every) % 2:  # cut off by max_tokens before the JSON
            row["modelOutput"] = model_output(judge_answer(seg).split("Verdict:")[0], "max_tokens", tokens)
        else:
            row["modelOutput"] = model_output("I'm sorry, I can't assess this translation without more context.",
                                              "end_turn", tokens)
    else:
        row["modelOutput"] = model_output(judge_answer(seg), "end_turn", tokens)
    return row


def write_batch_output(segments: list[Segment], out: Path, *, job: str = "job-000000000001", per_file: int = 500,
                       error_every: int = 40, malformed_every: int = 45, corrupt_lines: int = 1) -> list[Path]:
    """Write ``out/<job>/part-NNNN.jsonl.out`` (+ ``manifest.json.out``); returns the data files."""
    folder = out / job
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    errors = 0
    for start in range(0, len(segments), per_file):
        path = folder / f"part-{len(files):04d}.jsonl.out"
        with path.open("w", encoding="utf-8") as fh:
            for i in range(start, min(start + per_file, len(segments))):
                row = batch_row(i, segments[i], error_every, malformed_every)
                errors += "error" in row
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            if len(files) < corrupt_lines:
                fh.write(json.dumps(batch_row(start, segments[start], 0, 0), ensure_ascii=False)[:120] + "\n")
        files.append(path)
    manifest = {"totalRecordCount": len(segments), "processedRecordCount": len(segments),
                "successRecordCount": len(segments) - errors, "errorRecordCount": errors}
    (folder / "manifest.json.out").write_text(json.dumps(manifest) + "\n", encoding="utf-8")
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tsv", type=Path, default=DEFAULT_TSV, help="MQM annotations (mqm_ted_zhen.tsv)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "batch-output", help="output folder")
    ap.add_argument("--limit", type=int, default=None, help="segments to convert (default: all)")
    ap.add_argument("--per-file", type=int, default=500, help="records per *.jsonl.out file")
    args = ap.parse_args(argv)
    segments = read_segments(args.tsv, args.limit)
    files = write_batch_output(segments, args.out, per_file=args.per_file)
    print(f"{len(segments)} segments -> {len(files)} files in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
