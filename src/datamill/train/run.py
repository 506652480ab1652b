"""``datamill train``: the training data -> the backend's config -> (the built-in or an external) training run.

``OUT/`` holds ``data/`` (the rows the backend reads, when datamill writes them), the backend's config
(``trl_<stage>.yaml``, ``llamafactory_train.yaml``, ``xtuner_config.py``), ``command.txt`` (the exact
command), and after a run ``adapter/`` (or ``model/``), ``checkpoints/``, ``loss.json``, ``loss.svg`` and
``train.json`` (config, data fingerprint, steps, final loss, seconds). LLaMA-Factory and XTuner are
launched when their CLI is found (``launcher:`` or on PATH); otherwise the run stops after the config
with a message naming the command (the ``--dry-run`` behaviour).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamill.errors import InputError
from datamill.train.configs import (
    TRL_COMMAND,
    guess_template,
    lf_stage,
    llamafactory_yaml,
    trl_yaml,
    write_text,
    xtuner_config,
)
from datamill.train.curve import loss_svg
from datamill.train.data import TrainData, exporter_rows, load_train_data, write_jsonl
from datamill.train.spec import TrainSpec
from datamill.train.trl_run import TrainError, run_trl

Log = Callable[[str], None]


def _model_path(spec: TrainSpec) -> str:
    from datamill.models import model_folder

    return model_folder(spec.model)


def _data_info(data: TrainData, refused: Counter[str], rows_file: str | None) -> dict[str, Any]:
    return {"files": [f.path for f in data.files], "fingerprint": data.fingerprint(), "mode": data.mode,
            "records": len(data.records), "unreadable": data.unreadable, "other_modes": dict(data.other_modes),
            "refused": dict(refused), "rows_file": rows_file}


def _finish(out: Path, info: dict[str, Any], losses: list[tuple[int, float]], title: str) -> dict[str, Any]:
    (out / "loss.json").write_text(json.dumps([{"step": s, "loss": v} for s, v in losses]) + "\n", encoding="utf-8")
    (out / "loss.svg").write_text(loss_svg(losses, title), encoding="utf-8")
    (out / "train.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return info


def _guard_resume(out: Path, fingerprint: str, fresh: bool) -> None:
    """A run in ``out`` trained on other data cannot be resumed: start over only when asked."""
    previous = out / "train.json"
    checkpoints = out / "checkpoints"
    if fresh:
        shutil.rmtree(checkpoints, ignore_errors=True)
        return
    if previous.is_file() and checkpoints.is_dir():
        old = json.loads(previous.read_text(encoding="utf-8")).get("data", {}).get("fingerprint")
        if old and old != fingerprint:
            raise TrainError(f"{out} holds checkpoints of a run on other data",
                             hint="pass --fresh to start over, or another --out")


def train(path: Path, spec: TrainSpec, out: Path, *, log: Log, fresh: bool = False,
          callbacks: tuple[Any, ...] = ()) -> dict[str, Any]:
    """Prepare (and unless ``spec.dry_run``, run) the training of ``spec.model`` on the export at ``path``."""
    data = load_train_data(path, spec.split)
    stage = lf_stage(spec, data.mode)
    out.mkdir(parents=True, exist_ok=True)
    log(f"{len(data.records)} {data.mode} records from {len(data.files)} file(s); stage {stage}")
    if data.other_modes:
        log(f"left out (another record shape than {data.mode}): {dict(data.other_modes)}")
    if spec.backend == "trl":
        return _train_trl(spec, data, stage, out, log, fresh, callbacks)
    if spec.backend == "llamafactory":
        return _train_llamafactory(spec, data, stage, out, log)
    return _train_xtuner(spec, data, stage, out, log)


def _base_info(spec: TrainSpec, stage: str, data_info: dict[str, Any], command: str) -> dict[str, Any]:
    return {"backend": spec.backend, "model": spec.model, "method": spec.method, "stage": stage,
            "config": spec.model_dump(mode="json"), "data": data_info, "command": command}


def _train_trl(spec: TrainSpec, data: TrainData, stage: str, out: Path, log: Log, fresh: bool,
               callbacks: tuple[Any, ...]) -> dict[str, Any]:
    rows, refused = exporter_rows(data.records, "trl", data.mode)
    if refused:
        log(f"refused by TRL's rules: {dict(refused)}")
    if not rows:
        raise InputError("no record can be written as TRL rows", hint=f"refused: {dict(refused)}")
    rows_file = out / "data" / "train.jsonl"
    write_jsonl(rows_file, rows)
    info_data = _data_info(data, refused, str(rows_file))
    _guard_resume(out, info_data["fingerprint"], fresh)
    model_path = _model_path(spec)
    import torch

    config = write_text(out / f"trl_{stage}.yaml", trl_yaml(spec, model_path=model_path, data_dir=str(rows_file.parent),
                                                           stage=stage, output_dir=str(out / "checkpoints"),
                                                           cuda=torch.cuda.is_available()))
    command = f"trl {TRL_COMMAND.get(stage, stage)} --config {shlex.quote(str(config))}"
    write_text(out / "command.txt", command + "\n")
    info = _base_info(spec, stage, info_data, command)
    if spec.dry_run:
        log(f"dry run: TRL config {config}; train with: datamill train (built in) or {command}")
        return {**info, "dry_run": True}
    result = run_trl(spec, rows, stage, out, log=log, callbacks=callbacks)
    losses = result.pop("losses")
    info.update(result, dry_run=False)
    log(f"trained {info['steps']} steps in {info['seconds']:.0f}s, final loss {info['final_loss']}; "
        f"{info['output']}")
    return _finish(out, info, losses, f"{spec.model} {stage} ({spec.method})")


def _launcher(spec: TrainSpec, name: str) -> str | None:
    if spec.launcher:
        if not (Path(spec.launcher).is_file() and os.access(spec.launcher, os.X_OK)):
            raise InputError(f"launcher {spec.launcher} is not an executable file")
        return spec.launcher
    return shutil.which(name)


def _registry_entries(data: TrainData, split: str) -> tuple[str, list[str]] | None:
    """The export's own ``dataset_info.json`` and the entry names of the training files, when it has them."""
    from datamill.io.registry import REGISTRY_NAME

    folders: dict[str, list[str]] = {}
    for f in data.files:
        path = Path(f.path)
        if path.name == REGISTRY_NAME:
            registry = json.loads(path.read_text(encoding="utf-8"))
            names = [n for n, e in registry.items() if _entry_mode(e) == data.mode]
            split_names = [n for n in names if n == split] or [n for n in names if n.endswith(split)]
            folders.setdefault(str(path.parent), []).extend(split_names or names)
            continue
        registry_path = path.parent / REGISTRY_NAME
        if not registry_path.is_file():
            return None
        registry = json.loads(registry_path.read_text(encoding="utf-8"))
        match = [n for n, e in registry.items() if isinstance(e, dict) and e.get("file_name")
                 and (path.parent / e["file_name"]).resolve() == path.resolve()]
        if not match:
            return None
        folders.setdefault(str(path.parent), []).extend(match)
    if len(folders) != 1:
        return None
    (folder, names), = folders.items()
    return folder, sorted(set(names))


def _entry_mode(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "?"
    columns = entry.get("columns") or {}
    if entry.get("ranking"):
        return "preference"
    if "kto_tag" in columns:
        return "kto"
    if columns and set(columns) == {"prompt"} and entry.get("formatting", "alpaca") == "alpaca":
        return "pretrain"
    return "sft"


def _train_llamafactory(spec: TrainSpec, data: TrainData, stage: str, out: Path, log: Log) -> dict[str, Any]:
    found = _registry_entries(data, spec.split)
    refused: Counter[str] = Counter()
    if found is not None:
        dataset_dir, names = found
        log(f"LLaMA-Factory datasets {', '.join(names)} from {dataset_dir}/dataset_info.json")
        rows_file = None
    else:  # write LLaMA-Factory files and a registry of our own
        fmt = "llamafactory-alpaca" if data.mode == "pretrain" else "llamafactory-sharegpt"
        rows, refused = exporter_rows(data.records, fmt, data.mode)
        if not rows:
            raise InputError(f"no record can be written for LLaMA-Factory ({fmt})", hint=f"refused: {dict(refused)}")
        dataset_dir = str(out / "data")
        rows_path = Path(dataset_dir) / "train.json"
        rows_path.parent.mkdir(parents=True, exist_ok=True)
        _write_registry(fmt, data.mode, rows, rows_path)
        names, rows_file = ["train"], str(rows_path)
    template, known = guess_template(spec.model, "llamafactory")
    template = spec.template or template
    if not spec.template and not known:
        log(f"WARNING: no LLaMA-Factory template known for {spec.model}; using 'default' (pass --template)")
    output_dir = out / "llamafactory"
    config = write_text(out / "llamafactory_train.yaml", llamafactory_yaml(
        spec, model_path=_model_path(spec), dataset_dir=dataset_dir, datasets=names, stage=stage, template=template,
        output_dir=str(output_dir)))
    launcher = _launcher(spec, "llamafactory-cli")
    command = f"{shlex.quote(launcher or 'llamafactory-cli')} train {shlex.quote(str(config))}"
    write_text(out / "command.txt", command + "\n")
    info = _base_info(spec, stage, _data_info(data, refused, rows_file), command)
    info["template"] = template
    if spec.dry_run or launcher is None:
        why = "dry run" if spec.dry_run else "llamafactory-cli is not installed (or pass --launcher PATH)"
        log(f"{why}: wrote {config}; train with:\n  {command}")
        return {**info, "dry_run": True}
    started = time.monotonic()
    _launch([launcher, "train", str(config)], out / "llamafactory.log", log)
    losses = _llamafactory_losses(output_dir)
    info.update(dry_run=False, seconds=round(time.monotonic() - started, 2), output=str(output_dir),
                steps=max((s for s, _ in losses), default=0), final_loss=losses[-1][1] if losses else None)
    return _finish(out, info, losses, f"{spec.model} {stage} (LLaMA-Factory)")


def _write_registry(fmt: str, mode: str, rows: list[dict[str, Any]], rows_path: Path) -> None:
    from datamill.export.base import ExportedFile
    from datamill.export.registry import build_exporter

    data = ("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n").encode("utf-8")
    rows_path.write_bytes(data)
    exporter = build_exporter(fmt, {"mode": mode, "dataset_name": "train"}, "train")
    extra = exporter.finalize([ExportedFile(str(rows_path), "train", len(rows), hashlib.sha1(data).hexdigest())],
                              str(rows_path.parent))
    for name, text in extra.items():
        (rows_path.parent / name).write_text(text, encoding="utf-8")


def _launch(argv: list[str], log_file: Path, log: Log) -> None:
    """Run an external trainer, its output to ``log_file`` and its progress lines to ``log``."""
    log(f"running: {' '.join(shlex.quote(a) for a in argv)} (log: {log_file})")
    tail: list[str] = []
    with log_file.open("w", encoding="utf-8") as fh:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert process.stdout is not None
        for line in process.stdout:
            fh.write(line)
            tail = [*tail[-29:], line.rstrip()]
            if "'loss'" in line or "train_loss" in line or "Traceback" in line:
                log(line.rstrip())
        code = process.wait()
    if code != 0:
        raise TrainError(f"{argv[0]} exited with {code}: " + " | ".join(t for t in tail[-5:] if t),
                         hint=f"see {log_file}")


def _llamafactory_losses(output_dir: Path) -> list[tuple[int, float]]:
    log_file = output_dir / "trainer_log.jsonl"
    losses: list[tuple[int, float]] = []
    if log_file.is_file():
        for line in log_file.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "loss" in entry and entry["loss"] is not None:
                losses.append((int(entry["current_steps"]), float(entry["loss"])))
    return losses


def _train_xtuner(spec: TrainSpec, data: TrainData, stage: str, out: Path, log: Log) -> dict[str, Any]:
    from datamill.handoff.trainers import xtuner_structure

    if data.mode != "sft":
        raise InputError(f"XTuner's openai_map_fn reads SFT conversations, not {data.mode} records",
                         hint="use --backend trl or llamafactory for preference/KTO/pretraining data")
    rows, refused = exporter_rows(data.records, "openai", "sft", {"xtuner": True})
    contract: Counter[str] = Counter()
    kept = []
    for row in rows:
        rejected, altered = xtuner_structure(row)
        for reason in altered:
            contract[f"altered:{reason}"] += 1
        if rejected:
            contract[f"rejected:{rejected}"] += 1
            refused[f"openai_map_fn:{rejected}"] += 1
        else:
            kept.append(row)
    if not kept:
        raise InputError("no record suits XTuner's openai_map_fn", hint=f"refused: {dict(refused)}")
    rows_file = out / "data" / "train.jsonl"
    write_jsonl(rows_file, kept)
    template = spec.template or guess_template(spec.model, "xtuner")[0]
    config = write_text(out / "xtuner_config.py", xtuner_config(spec, model_path=_model_path(spec),
                                                               data_file=str(rows_file), template=template))
    launcher = _launcher(spec, "xtuner")
    command = (f"{shlex.quote(launcher or 'xtuner')} train {shlex.quote(str(config))} "
               f"--work-dir {shlex.quote(str(out / 'xtuner'))}")
    write_text(out / "command.txt", command + "\n")
    info = _base_info(spec, stage, _data_info(data, refused, str(rows_file)), command)
    info.update(template=template, openai_map_fn={"rows": len(kept), "checked": len(rows), **dict(contract)})
    log(f"openai_map_fn contract: {len(kept)} of {len(rows)} rows map cleanly"
        + (f"; {dict(contract)}" if contract else ""))
    if spec.dry_run or launcher is None:
        why = "dry run" if spec.dry_run else "xtuner is not installed (or pass --launcher PATH)"
        log(f"{why}: wrote {config}; train with:\n  {command}")
        return {**info, "dry_run": True}
    started = time.monotonic()
    _launch([launcher, "train", str(config), "--work-dir", str(out / "xtuner")], out / "xtuner.log", log)
    info.update(dry_run=False, seconds=round(time.monotonic() - started, 2), output=str(out / "xtuner"))
    return _finish(out, info, [], f"{spec.model} sft (XTuner)")
