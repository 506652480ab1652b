"""The work directory's files, in a local folder or in a store every node shares (``s3://bucket/runs/x``).

A remote work directory is *mounted* on a local scratch folder: the engine keeps building ``pathlib``
paths under that folder, and the functions here (publish, read, list, remove) send a path under a mount
to the remote store instead. Reads, existence checks and listings always go to the remote, never to a
local copy, so every node sees exactly what the others published (and a test on one machine cannot pass
by reading a neighbour's scratch file). Files are written to a local temporary file first and
:func:`publish` uploads each in one PUT: on S3 an object appears whole or not at all, as ``os.replace``
does locally, so a killed writer never leaves half a shard.

Paths not under a mount are plain local files. The mount table is per process: the runner mounts the
work directory in the driver; forked pool workers inherit it and Ray workers get it with each task.
Caches that need a local file (``cache/llm.sqlite``, embeddings) live in the driver's scratch folder and
are copied to the store when a stage finishes (:func:`push_tree`) and back on a new machine
(:func:`pull_tree`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from datamill.errors import InputError


@dataclass(frozen=True)
class Mount:
    """``local`` (a scratch folder, absolute) stands for ``remote`` (an fsspec URL, no trailing slash)."""

    local: Path
    remote: str


_MOUNTS: list[Mount] = []
_FS: dict[str, tuple[Any, str]] = {}
# a forked pool worker opens its own connections: fsspec's async filesystems (s3fs) refuse to be used
# across a fork ("This class is not fork-safe"), and the driver has reached the store before forking
os.register_at_fork(after_in_child=_FS.clear)


def is_remote(workdir: str | Path) -> bool:
    return "://" in str(workdir) and not str(workdir).startswith("file://")


def scratch_for(url: str) -> Path:
    """The local scratch folder of a remote work directory: the same on every node and every run, so a
    driver restarted on the same machine finds its caches again."""
    base = Path(os.environ.get("DATAMILL_CACHE") or Path.home() / ".cache" / "datamill")
    return (base / "workdirs" / hashlib.sha1(url.rstrip("/").encode()).hexdigest()[:16]).absolute()


def mount(m: Mount | None) -> None:
    """Make ``m`` this process's mount (None: none). Called by the runner and by executors in workers."""
    _MOUNTS.clear()
    if m is not None:
        _MOUNTS.append(m)


def current() -> Mount | None:
    return _MOUNTS[0] if _MOUNTS else None


def _fs(remote: str) -> tuple[Any, str]:
    if remote not in _FS:
        import fsspec

        try:
            fs, root = fsspec.core.url_to_fs(remote, use_listings_cache=False)
        except ImportError as exc:
            from datamill.errors import MissingExtraError

            raise MissingExtraError(exc.name or "s3fs", "s3", f"the work directory {remote}") from exc
        _FS[remote] = (fs, root.rstrip("/"))
    return _FS[remote]


def _remote(path: Path) -> tuple[Any, str] | None:
    """(filesystem, key) of a path under the mount, or None for a local path."""
    for m in _MOUNTS:
        try:
            rel = path.relative_to(m.local)
        except ValueError:
            continue
        fs, root = _fs(m.remote)
        return fs, f"{root}/{rel.as_posix()}" if str(rel) != "." else root
    return None


def check_remote(url: str) -> None:
    """Fail early, with the reason, when the remote work directory cannot be reached."""
    fs, root = _fs(url.rstrip("/"))
    try:
        fs.ls(root.split("/", 1)[0])
    except Exception as exc:
        raise InputError(f"the work directory {url} cannot be reached: {type(exc).__name__}: {exc}",
                         hint="check the URL and the credentials (AWS_* variables, AWS_ENDPOINT_URL)") from exc


# -- writing ---------------------------------------------------------------------------------------------


def publish(tmp: Path, final: Path) -> None:
    """Make the finished local file ``tmp`` the file ``final`` in one step (rename, or one upload)."""
    remote = _remote(final)
    if remote is None:
        os.replace(tmp, final)
        return
    fs, key = remote
    fs.put_file(str(tmp), key)
    tmp.unlink()


# -- reading ---------------------------------------------------------------------------------------------


def exists(path: Path) -> bool:
    remote = _remote(path)
    if remote is None:
        return path.exists()
    fs, key = remote
    return bool(fs.exists(key))


@contextmanager
def open_read(path: Path) -> Iterator[IO[bytes]]:
    remote = _remote(path)
    if remote is None:
        with open(path, "rb") as fh:
            yield fh
        return
    fs, key = remote
    with fs.open(key, "rb", block_size=8 << 20) as fh:
        yield fh


def read_bytes(path: Path) -> bytes:
    with open_read(path) as fh:
        return fh.read()


def read_text(path: Path) -> str:
    return read_bytes(path).decode("utf-8")


def names(folder: Path, pattern: str = "*") -> list[str]:
    """Names of the files in ``folder`` matching ``pattern``, sorted (one listing; [] when absent)."""
    remote = _remote(folder)
    if remote is None:
        return sorted(p.name for p in folder.glob(pattern) if p.is_file()) if folder.is_dir() else []
    fs, key = remote
    try:
        entries = fs.ls(key, detail=True)
    except FileNotFoundError:
        return []
    found = [e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "file"]
    return sorted(n for n in found if fnmatch.fnmatchcase(n, pattern))


def glob(folder: Path, pattern: str = "*") -> list[Path]:
    return [folder / n for n in names(folder, pattern)]


def subfolders(folder: Path) -> list[Path]:
    remote = _remote(folder)
    if remote is None:
        return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    fs, key = remote
    try:
        entries = fs.ls(key, detail=True)
    except FileNotFoundError:
        return []
    return sorted(folder / e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")


# -- removing --------------------------------------------------------------------------------------------


def remove(path: Path) -> None:
    """Delete a file if it exists."""
    remote = _remote(path)
    if remote is None:
        path.unlink(missing_ok=True)
        return
    fs, key = remote
    with suppress(FileNotFoundError):
        fs.rm_file(key)


def rmtree(folder: Path) -> None:
    """Delete a folder and everything in it, if it exists (locally: also its scratch copy)."""
    remote = _remote(folder)
    if remote is not None:
        fs, key = remote
        if fs.exists(key):
            fs.rm(key, recursive=True)
    shutil.rmtree(folder, ignore_errors=True)


# -- caches that need local files --------------------------------------------------------------------------


def push_tree(folder: Path) -> None:
    """Upload the regular files of a local scratch folder (caches, artifacts) to the store."""
    remote = _remote(folder)
    if remote is None or not folder.is_dir():
        return
    fs, key = remote
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            fs.put_file(str(path), f"{key}/{path.relative_to(folder).as_posix()}")


def pull_tree(folder: Path) -> None:
    """Download a folder of the store into the local scratch folder when it is not there yet."""
    remote = _remote(folder)
    if remote is None or folder.exists():
        return
    fs, key = remote
    if fs.exists(key):
        fs.get(key + "/", str(folder) + "/", recursive=True)
