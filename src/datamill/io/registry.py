"""LLaMA-Factory ``dataset_info.json`` registries as inputs.

Each entry names a dataset: ``file_name`` (a file or folder relative to the registry's folder) or
``hf_hub_url`` (a Hub dataset, with ``subset``, ``split``, ``folder`` and ``revision``), plus how its
records look: ``formatting`` (``alpaca``, the default, or ``sharegpt``), ``columns``, ``tags`` and
``ranking``. That description travels with each :class:`SourceFile` as its ``hint`` so the format
adapters need not guess. ``options: {datasets: [names]}`` selects entries (default: all). A
``file_sha1`` is verified, as LLaMA-Factory does, and a mismatch is an error rather than a warning:
a recipe should not silently train on a file that changed.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path
from typing import Any

import orjson

from datamill.errors import InputError
from datamill.io.sources import SourceFile, expand_path, has_glob, hf_source, is_url
from datamill.recipe.model import InputSpec

REGISTRY_NAME = "dataset_info.json"
_UNSUPPORTED = ("ms_hub_url", "om_hub_url", "script_url", "cloud_file_name")


def is_registry(path: str) -> bool:
    return posixpath.basename(path.rstrip("/")) == REGISTRY_NAME and not has_glob(path)


def _read_bytes(url: str) -> bytes:
    import fsspec

    try:
        with fsspec.open(url, "rb") as handle:
            return bytes(handle.read())
    except OSError as exc:
        raise InputError(f"cannot read {url}: {exc}") from exc


def _load(url: str, display: str) -> dict[str, Any]:
    try:
        registry = orjson.loads(_read_bytes(url))
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{display} is not valid JSON: {exc}") from exc
    if not isinstance(registry, dict) or not all(isinstance(v, dict) for v in registry.values()):
        raise InputError(f"{display} is not a dataset registry: expected {{name: {{file_name: ...}}, ...}}")
    return registry


def _hint(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "formatting": entry.get("formatting", "alpaca"),
        "columns": dict(entry.get("columns") or {}),
        "tags": dict(entry.get("tags") or {}),
        "ranking": bool(entry.get("ranking", False)),
        "dataset": name,
    }


def _sha1(url: str) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(_read_bytes(url))
    return digest.hexdigest()


def _verify_sha1(file: tuple[str, str], expected: str, what: str) -> None:
    """Raise when the file's SHA-1 differs from the registry's ``file_sha1`` (LLaMA-Factory only warns)."""
    url, display = file
    actual = _sha1(url)
    if actual != expected.strip().lower():
        raise InputError(
            f"{display} ({what}) fails its checksum: expected sha1 {expected}, actual sha1 {actual}",
            hint="the file changed after the registry was written; update file_sha1 or restore the file",
        )


def _join(folder: str, name: str) -> str:
    if is_url(folder):
        return folder.rstrip("/") + "/" + name
    return os.path.join(folder, name)


def expand_registry(path: str, spec: InputSpec, base_dir: Path) -> list[SourceFile]:
    """One :class:`SourceFile` per file of each selected entry, in the order the entries are selected."""
    (url, display), = expand_path(path, base_dir)
    registry = _load(url, display)
    options = dict(spec.options)
    selected = options.pop("datasets", None)
    names = [selected] if isinstance(selected, str) else list(selected or registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        known = ", ".join(list(registry)[:20]) + (" ..." if len(registry) > 20 else "")
        names_text = ", ".join(map(repr, unknown))
        raise InputError(f"{display} has no dataset named {names_text}", hint=f"known: {known}")
    folder = posixpath.dirname(url) if is_url(url) else os.path.dirname(url)
    sources: list[SourceFile] = []
    for name in names:
        entry = registry[name]
        hint = _hint(name, entry)
        if entry.get("file_name"):
            found = expand_path(_join(folder, str(entry["file_name"])), base_dir)
            if entry.get("file_sha1") and len(found) == 1:
                _verify_sha1(found[0], str(entry["file_sha1"]), f"dataset {name!r} in {display}")
            sources.extend(SourceFile(u, d, spec.file_format, dict(options), hint) for u, d in found)
        elif entry.get("hf_hub_url"):
            hub_options = dict(options)
            for key, option in (("split", "split"), ("subset", "config"), ("folder", "data_dir"),
                                ("revision", "revision")):
                if entry.get(key):
                    hub_options[option] = entry[key]
            source = hf_source(f"hf://{entry['hf_hub_url']}", hub_options)
            sources.append(SourceFile(source.url, source.display, "hf", source.options, hint))
        else:
            kinds = ", ".join(k for k in _UNSUPPORTED if k in entry) or "no file_name"
            raise InputError(
                f"dataset {name!r} in {display} has no file_name or hf_hub_url ({kinds}): cannot read it",
                hint="select readable entries with options: {datasets: [name, ...]}",
            )
    return sources
