"""LLaMA-Factory ``dataset_info.json`` registries as inputs.

Each entry names a dataset: ``file_name`` (a file or folder relative to the registry's folder) or
``hf_hub_url`` (a Hub dataset, with ``subset``, ``split``, ``folder`` and ``revision``), plus how its
records look: ``formatting`` (``alpaca``, the default, or ``sharegpt``), ``columns``, ``tags`` and
``ranking``. That description travels with each :class:`SourceFile` as its ``hint`` so the format
adapters need not guess. ``options: {datasets: [names]}`` selects entries (default: all). A
``file_sha1`` is verified, as LLaMA-Factory does, and a mismatch is an error rather than a warning:
a recipe should not silently train on a file that changed.

Paths in a registry come from data, not from the user: ``file_name`` (and a hub entry's ``folder``)
must stay inside the registry's folder: an absolute path, ``..`` that climbs out, another URL, or a
symbolic link below the folder that resolves outside it is an error naming the entry and the path,
unless the input sets ``options: {allow_outside_paths: true}``.
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


def _outside(folder: str, name: str) -> str | None:
    """Where the registry path ``name`` leads when that is outside ``folder`` (symbolic links resolved),
    else ``None``."""
    if is_url(name) or name.startswith("file://"):
        return name
    if is_url(folder):
        relative = name.replace("\\", "/")
        if relative.startswith("/") or posixpath.normpath("/" + relative).startswith("/.."):
            return name
        return None
    target = os.path.realpath(os.path.join(folder, os.path.expanduser(name)))
    return None if _is_inside(target, folder) else target


def _is_inside(path: str, folder: str) -> bool:
    root = os.path.realpath(folder)
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _outside_error(name: str, key: str, value: str, where: str, display: str) -> InputError:
    to = f" (to {where})" if where != value else ""
    return InputError(
        f"dataset {name!r} in {display}: {key} {value!r} points outside the registry's folder{to}",
        hint="paths in a dataset_info.json must stay inside its folder; if you trust this registry, set "
        "options: {allow_outside_paths: true} on the input",
    )


def _confined_files(name: str, value: str, folder: str, display: str, base_dir: Path) -> list[tuple[str, str]]:
    """The files of a ``file_name`` that stays inside ``folder``, every one of them checked (a symbolic
    link below the folder may lead out of it)."""
    where = _outside(folder, value)
    if where is not None:
        raise _outside_error(name, "file_name", value, where, display)
    found = expand_path(_join(folder, value), base_dir)
    if not is_url(folder):
        for file_url, _ in found:
            if not _is_inside(file_url, folder):
                raise _outside_error(name, "file_name", value, os.path.realpath(file_url), display)
    return found


def _check_hub_folder(name: str, value: str, display: str) -> None:
    """A hub entry's ``folder`` is a folder inside the dataset repository."""
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "\\")) or "://" in value or ".." in parts:
        raise InputError(
            f"dataset {name!r} in {display}: folder {value!r} points outside the dataset repository",
            hint="a hub entry's folder names a folder inside the dataset; if you trust this registry, set "
            "options: {allow_outside_paths: true} on the input",
        )


def expand_registry(path: str, spec: InputSpec, base_dir: Path) -> list[SourceFile]:
    """One :class:`SourceFile` per file of each selected entry, in the order the entries are selected."""
    (url, display), = expand_path(path, base_dir)
    registry = _load(url, display)
    options = dict(spec.options)
    selected = options.pop("datasets", None)
    confined = not options.get("allow_outside_paths", False)
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
            value = str(entry["file_name"])
            found = (_confined_files(name, value, folder, display, base_dir) if confined
                     else expand_path(_join(folder, value), base_dir))
            if entry.get("file_sha1") and len(found) == 1:
                _verify_sha1(found[0], str(entry["file_sha1"]), f"dataset {name!r} in {display}")
            sources.extend(SourceFile(u, d, spec.file_format, dict(options), hint) for u, d in found)
        elif entry.get("hf_hub_url"):
            if confined and entry.get("folder"):
                _check_hub_folder(name, str(entry["folder"]), display)
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
