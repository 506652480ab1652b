"""An lm-evaluation-harness task for the test items, so the same split can be scored by that tool too.

Writes ``DIR/NAME.jsonl`` (one ``{"question", "answer", "reference", <category fields>}`` per item; ``answer``
is the reference's extracted answer when an exact-match extractor is given) and ``DIR/NAME.yaml``: a
``generate_until`` task on the local JSON file (``dataset_path: json``, ``data_files`` under the ``train``
key, hence ``test_split: train``: the ``json`` builder names a lone file's split ``train``), greedy, with
``exact_match`` after a filter that takes the last number (or the ``\\boxed{}``, choice, regex answer).

Differences from ``datamill eval`` worth knowing: lm-eval compares strings (``1.50`` is not ``1.5``; no
tolerance), and it sends only the question (the last user turn; earlier turns and system messages are
not part of ``doc_to_text``). Run it with ``--apply_chat_template`` to match a chat-trained model.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from datamill.evaluate.data import EvalData
from datamill.evaluate.extractors import build_extractor
from datamill.evaluate.spec import ExactMatch

#: the filter regex per extractor (lm-eval's regex filter: ``findall`` then ``group_select``)
FILTERS: dict[str, tuple[str, int]] = {
    "last_number": (r"(-?[0-9][0-9,]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)", -1),
    "boxed": (r"\\boxed\{(.*?)\}", -1),
    "choice": (r"\b([A-Z])\b", 0),
}


def task_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower()
    return name or "datamill_eval"


def _filter(spec: ExactMatch | None) -> dict[str, Any] | None:
    if spec is None or spec.extract == "text":
        return None
    if spec.extract == "regex":
        pattern, group = spec.pattern or "", -1
    else:
        pattern, group = FILTERS[spec.extract]
    return {"name": spec.extract, "filter": [{"function": "regex", "regex_pattern": pattern, "group_select": group},
                                            {"function": "take_first"}]}


def write_task(data: EvalData, folder: Path, name: str, *, exact: ExactMatch | None = None, by: list[str] | None = None,
               max_new_tokens: int = 256) -> Path:
    """Write the task's data and YAML into ``folder``; returns the YAML's path."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    extract = None if exact is None else build_extractor(exact.reference_extract or exact.extract,
                                                        pattern=exact.pattern, letters=exact.letters)
    lines = []
    for item in data.items:
        reference = item.reference or ""
        answer = extract(reference) if extract is not None else reference
        row: dict[str, Any] = {"id": item.id, "question": item.question, "answer": answer or reference,
                               "reference": reference}
        for path in by or []:
            row[path] = item.category(path)[0]
        lines.append(json.dumps(row, ensure_ascii=False))
    data_file = (folder / f"{name}.jsonl").resolve()
    data_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task: dict[str, Any] = {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"train": str(data_file)}},
        "test_split": "train",
        "output_type": "generate_until",
        "doc_to_text": "{{question}}",
        "doc_to_target": "{{answer}}",
        "generation_kwargs": {"until": [], "do_sample": False, "max_gen_toks": max_new_tokens},
        "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True,
                         "ignore_case": True, "ignore_punctuation": False, "regexes_to_ignore": [","]}],
        "metadata": {"version": 1.0, "source": data.source, "split": data.split, "items": len(data.items)},
    }
    flt = _filter(exact)
    if flt is not None:
        task["filter_list"] = [flt]
    task_file = folder / f"{name}.yaml"
    task_file.write_text(yaml.safe_dump(task, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return task_file


def command(task_yaml: Path, model: str, adapter: str | None = None, out: str = "lm_eval_out") -> str:
    """The ``lm_eval`` command that runs the task on a Hugging Face model (+ PEFT adapter)."""
    args = f"pretrained={model}" + (f",peft={adapter}" if adapter else "")
    return (f"lm_eval --model hf --model_args {shlex.quote(args)} --include_path {shlex.quote(str(task_yaml.parent))} "
            f"--tasks {task_yaml.stem} --apply_chat_template --batch_size 8 --log_samples "
            f"--output_path {shlex.quote(out)}")
