"""``datamill inspect``: what is in this input? Container and record format with confidence, record
count, per-field statistics and a few samples in canonical form."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

from datamill.formats.base import AdapterConfig, AdapterError
from datamill.formats.registry import adapter_for_hint, detect_format, get_adapter
from datamill.io.read import read_rows
from datamill.io.sources import expand_input
from datamill.recipe.model import InputSpec

SAMPLE_ROWS = 200


def _type_name(v: Any) -> str:
    return "null" if v is None else {"str": "string", "dict": "object", "list": "array"}.get(
        type(v).__name__, type(v).__name__)


def inspect_path(path: str, record_format: str = "auto", samples: int = 3,
                 base_dir: Path | None = None, fields: dict[str, str] | None = None) -> dict[str, Any]:
    files = expand_input(InputSpec(path=path, format=record_format, fields=fields or {}), base_dir or Path.cwd())
    result: dict[str, Any] = {"path": path, "files": []}
    for source in files:
        rows = read_rows(source)
        it = iter(rows)
        head = list(itertools.islice(it, SAMPLE_ROWS))
        dict_rows = [r.value for r in head if r.error is None and isinstance(r.value, dict)]
        config = AdapterConfig(fields=fields or {})
        detection = None
        if record_format != "auto":
            adapter = get_adapter(record_format, config)
        elif source.hint and not fields:
            adapter = adapter_for_hint(source.hint)
        elif dict_rows:
            detection = detect_format(dict_rows, config, source=source.display)
            adapter = get_adapter(detection.format, config)
        else:  # empty, or no readable row: the counts and errors below say which
            adapter = None
        count = 0
        errors: Counter[str] = Counter()
        presence: Counter[str] = Counter()
        types: dict[str, Counter[str]] = {}
        lengths: Counter[str] = Counter()
        canonical: list[dict[str, Any]] = []
        mapping_failures: Counter[str] = Counter()
        for row in itertools.chain(head, it):
            count += 1
            if row.error is not None:
                errors[row.error.split(":")[0][:80]] += 1
                continue
            if not isinstance(row.value, dict):
                errors["not a JSON object"] += 1
                continue
            for key, value in row.value.items():
                presence[key] += 1
                types.setdefault(key, Counter())[_type_name(value)] += 1
                if isinstance(value, str):
                    lengths[key] += len(value)
            if len(canonical) < samples and adapter is not None:
                try:
                    canonical.append(adapter.to_record(row.value))
                except AdapterError as exc:
                    mapping_failures[str(exc)[:120]] += 1
        field_stats = {
            key: {
                "present": n,
                "share": round(n / max(1, count), 4),
                "types": dict(types[key]),
                "mean_chars": round(lengths[key] / n, 1) if lengths[key] else None,
            }
            for key, n in presence.most_common()
        }
        result["files"].append({
            "file": source.display,
            "file_format": getattr(rows, "detection_description", None) or source.file_format,
            "record_format": adapter.name if adapter is not None else None,
            "detection": None if detection is None else {
                "format": detection.format, "confidence": round(detection.confidence, 3),
                "fields": detection.fields, "candidates": {k: round(v, 3) for k, v in
                                                           detection.candidates.items()},
                "mapping": detection.mapping,
            },
            "records": count,
            "unparseable": dict(errors),
            "blank_lines": getattr(rows, "blank_lines", 0),
            "fields": field_stats,
            "samples": canonical,
            "sample_mapping_failures": dict(mapping_failures),
        })
    return result


def render_inspection(result: dict[str, Any]) -> str:
    import json

    lines = []
    for f in result["files"]:
        lines.append(f"{f['file']}")
        lines.append(f"  container:     {f['file_format']}")
        det = f["detection"]
        if det:
            others = ", ".join(f"{k} {v:.2f}" for k, v in det["candidates"].items() if k != det["format"] and v > 0)
            mapping = ", ".join(f"{k}={v}" for k, v in det.get("mapping", {}).items())
            lines.append(f"  record format: {det['format']} (confidence {det['confidence']:.2f}; fields: "
                         f"{', '.join(det['fields']) or '-'}{'; mapping: ' + mapping if mapping else ''}"
                         f"{'; others: ' + others if others else ''})")
        elif f["record_format"] is None:
            lines.append("  record format: not detected (no readable rows)")
        else:
            lines.append(f"  record format: {f['record_format']} (given)")
        lines.append(f"  records:       {f['records']}" + (f" ({sum(f['unparseable'].values())} unparseable)"
                                                          if f["unparseable"] else ""))
        lines.append("  fields:")
        for key, info in f["fields"].items():
            types = "/".join(info["types"])
            chars = f", mean {info['mean_chars']} chars" if info["mean_chars"] else ""
            lines.append(f"    {key:<24} {info['share'] * 100:5.1f}%  {types}{chars}")
        for i, s in enumerate(f["samples"]):
            text = json.dumps(s, ensure_ascii=False)
            lines.append(f"  sample {i}: {text[:400]}{'...' if len(text) > 400 else ''}")
    return "\n".join(lines)
