"""Hugging Face Hub datasets (``hf://org/name``) through ``datasets.load_dataset``.

Options: ``split`` (default ``train``), ``config`` (or ``name``), ``revision``, ``data_dir``,
``streaming`` (iterate without building the Arrow cache). ``datasets`` is imported on first use.

Offline use: the environment decides (``HF_HUB_OFFLINE=1``, ``HF_HOME``, ``HF_HUB_CACHE``); nothing is
set here. ``datasets`` 5.x, when offline, looks only in its processed Arrow cache
(``HF_DATASETS_CACHE/org___name``) and ignores repository files that are already in the hub cache
(``HF_HUB_CACHE/datasets--org--name/snapshots/<rev>/``, e.g. from ``hf download``). So when loading by
name fails for lack of a connection, the snapshot is looked up in the hub cache
(``snapshot_download(local_files_only=True)``) and loaded as a local folder, which never touches the
network.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from datamill.errors import InputError, require
from datamill.io.report import ReadReport
from datamill.io.rows import RawRow

if TYPE_CHECKING:
    from datamill.io.sources import SourceFile


def hf_repo(url: str) -> str:
    """``org/name`` from ``hf://org/name``."""
    return url.removeprefix("hf://").strip("/")


def _cached_snapshot(repo: str, revision: str | None) -> str | None:
    from huggingface_hub import snapshot_download

    try:
        return str(snapshot_download(repo, repo_type="dataset", revision=revision, local_files_only=True))
    except Exception:  # any failure means "not in the hub cache"
        return None


def load_hf(source: SourceFile) -> Any:
    """The ``datasets`` split (or iterable split) for an ``hf://`` source."""
    datasets: Any = require("datasets", "hub", "reading hf:// inputs")
    options = source.options
    repo = hf_repo(source.url)
    revision = options.get("revision")
    kwargs: dict[str, Any] = {
        "name": options.get("config") or options.get("name"),
        "split": options.get("split") or "train",
        "data_dir": options.get("data_dir"),
        "streaming": bool(options.get("streaming", False)),
    }
    try:
        return datasets.load_dataset(repo, revision=revision, **kwargs)
    except (ConnectionError, FileNotFoundError) as exc:
        local = _cached_snapshot(repo, revision)
        if local is None:
            raise InputError(
                f"cannot load {source.url}: {exc}",
                hint="check the name and your connection; offline, the dataset must be in the Hugging Face "
                "cache (HF_HOME / HF_HUB_CACHE), e.g. downloaded before with 'hf download --repo-type "
                "dataset'",
            ) from exc
        try:
            return datasets.load_dataset(local, **kwargs)
        except ValueError as inner:
            raise InputError(f"cannot load {source.url} from the hub cache ({local}): {inner}") from inner
    except ValueError as exc:  # unknown split or config
        raise InputError(f"cannot load {source.url}: {exc}", hint="check options split and config") from exc


def read_hf(source: SourceFile, report: ReadReport) -> Iterator[RawRow]:
    """Rows of a Hub dataset split as dicts; locations ``display#index``."""
    dataset = load_hf(source)
    for index, value in enumerate(dataset):
        report.rows += 1
        yield RawRow(value, f"{source.display}#{index}")
