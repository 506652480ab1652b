"""Expand a recipe input into the concrete files (or Hub datasets) to read, and fingerprint them.

An input's ``path`` may be a local path or glob (relative to the recipe's folder; ``**`` recurses), a
directory (every non-hidden file below it), any fsspec URL including globs (``s3://bucket/logs/*.jsonl.gz``),
``hf://org/dataset`` (a Hub dataset split), or a LLaMA-Factory ``dataset_info.json`` registry. An archive
path may end with ``!GLOB`` to read only the members whose names match (``x.tar.gz!en-zh/*.tsv``). Results
are sorted and de-duplicated, so the same input always yields the same files in the same order.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from datamill.errors import InputError
from datamill.io.compression import split_member
from datamill.recipe.model import InputSpec

_GLOB_CHARS = frozenset("*?[")
_HF_FS_PREFIXES = ("hf://datasets/", "hf://buckets/", "hf://spaces/")


@dataclass(frozen=True)
class SourceFile:
    """One thing to read: ``url`` is an absolute local path, an fsspec URL or ``hf://org/name``.

    ``display`` is what locations and reports show (the path relative to the recipe folder for local
    files). ``file_format`` is the input's ``file_format`` (``auto`` unless the recipe forces one;
    ``hf`` for Hub datasets). ``options`` are the reader options. ``hint`` carries what a
    ``dataset_info.json`` entry says about the records: ``formatting`` (alpaca/sharegpt), ``columns``,
    ``tags``, ``ranking`` and the entry's name as ``dataset``.
    """

    url: str
    display: str
    file_format: str
    options: dict[str, Any]
    hint: dict[str, Any] | None = None
    #: archive members to read: the glob after ``!`` in the input path (``x.tar.gz!en-zh/*.tsv``)
    members: str | None = None


def has_glob(path: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in path)


def is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def is_hf_dataset(path: str) -> bool:
    """``hf://org/name`` (a Hub dataset); ``hf://datasets/...`` paths are files read through fsspec."""
    return path.startswith("hf://") and not path.startswith(_HF_FS_PREFIXES)


def expand_input(spec: InputSpec, base_dir: Path) -> list[SourceFile]:
    """Every file (or Hub dataset) the input names, in a deterministic order.

    Raises :class:`InputError` when a path names nothing, with a hint on where paths are resolved.
    """
    from datamill.io.registry import expand_registry, is_registry

    files: list[SourceFile] = []
    for path in spec.paths():
        if is_hf_dataset(path):
            files.append(hf_source(path, spec.options))
        elif is_registry(path):
            files.extend(expand_registry(path, spec, base_dir))
        else:
            archive, members = split_member(path)
            found = expand_path(archive, base_dir)
            files.extend(SourceFile(u, d, spec.file_format, dict(spec.options), members=members) for u, d in found)
    unique = list({_identity(f): f for f in files}.values())
    if not unique:
        raise InputError(f"input {spec.paths()} matched no files", hint=_hint(spec.paths()[0], base_dir))
    return unique


def _identity(source: SourceFile) -> bytes:
    return orjson.dumps([source.url, source.options, source.hint, source.members], option=orjson.OPT_SORT_KEYS,
                        default=str)


def hf_source(path: str, options: dict[str, Any]) -> SourceFile:
    """The source for ``hf://org/name`` with split (default ``train``), config and revision options."""
    repo = path.removeprefix("hf://").strip("/")
    if not repo or repo.count("/") > 1:
        raise InputError(f"not a Hub dataset name: {path}", hint="write hf://org/dataset (or hf://dataset)")
    opts = dict(options)
    opts["split"] = opts.get("split") or "train"
    config = opts.get("config") or opts.get("name")
    if config:
        opts["config"] = config
    display = f"hf://{repo}" + (f"[{config}]" if config else "") + f":{opts['split']}"
    return SourceFile(f"hf://{repo}", display, "hf", opts)


def _hint(path: str, base_dir: Path) -> str:
    if is_url(path):
        return "check the URL and the credentials (AWS_PROFILE, AWS_ENDPOINT_URL for S3); globs: s3://b/p/*.jsonl"
    return f"paths are relative to {base_dir}; check the spelling, or use an absolute path or a glob"


def expand_path(path: str, base_dir: Path) -> list[tuple[str, str]]:
    """``(url, display)`` for each file a local path/glob or fsspec URL names, sorted."""
    if is_url(path):
        return _expand_url(path)
    local = os.path.expanduser(path.removeprefix("file://"))
    full = Path(local) if os.path.isabs(local) else base_dir / local
    if has_glob(local):
        matches = sorted(p for p in glob.glob(str(full), recursive=True) if os.path.isfile(p))
    elif full.is_dir():
        matches = sorted(str(p) for p in _walk(full))
    elif full.is_file():
        matches = [str(full)]
    else:
        raise InputError(f"input file not found: {path}", hint=_hint(path, base_dir))
    return [(os.path.abspath(m), _display(Path(m), base_dir)) for m in matches]


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith("."):
                yield Path(dirpath) / name


def _display(path: Path, base_dir: Path) -> str:
    """The path relative to the recipe folder when it lies below it, else as it is."""
    try:
        relative = os.path.relpath(path, base_dir)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _expand_url(url: str) -> list[tuple[str, str]]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    try:
        fs.invalidate_cache()
        if has_glob(path):
            found = fs.glob(path, detail=True)
            names = sorted(name for name, info in found.items() if info.get("type") != "directory")
        elif fs.isdir(path):
            names = sorted(fs.find(path))
        elif fs.exists(path):
            names = [path]
        else:
            raise InputError(f"input file not found: {url}", hint=_hint(url, Path(".")))
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot list {url}: {exc}", hint=_hint(url, Path("."))) from exc
    return [(fs.unstrip_protocol(name), fs.unstrip_protocol(name)) for name in names]


def input_fingerprint(files: list[SourceFile]) -> str:
    """A hash of each file's URL, size and modification time (or ETag), format and options.

    Cheap: it stats files and never reads them. Hub datasets contribute their name, split, config and
    revision (resolving the revision would need the network).
    """
    entries: list[Any] = []
    for source in files:
        entry: list[Any] = [source.url, source.file_format, source.options]
        if source.members is not None:
            entry.append(source.members)
        if source.file_format != "hf":
            entry.append(_file_stamp(source.url))
        entries.append(entry)
    data = orjson.dumps(entries, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(data).hexdigest()


def _file_stamp(url: str) -> list[Any]:
    if not is_url(url):
        try:
            stat = os.stat(url.removeprefix("file://"))
        except OSError as exc:
            raise InputError(f"input file not found: {url}") from exc
        return [stat.st_size, stat.st_mtime_ns]
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    try:
        fs.invalidate_cache(path)  # listings are cached per process; the stamp must be current
        info = fs.info(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot stat {url}: {exc}") from exc
    version = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime")
    return [info.get("size"), str(version)]
