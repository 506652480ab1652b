"""Expanding inputs into files, and the cheap fingerprint used for resume."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from datamill.errors import InputError
from datamill.io.sources import SourceFile, expand_input, input_fingerprint
from datamill.recipe.model import InputSpec


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ["data/b.jsonl", "data/a.jsonl", "data/sub/c.jsonl", "data/sub/deep/d.jsonl", "data/x.csv",
                "data/.hidden.jsonl", "data/.git/e.jsonl"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"a": 1}\n')
    return tmp_path


def displays(files: list[SourceFile]) -> list[str]:
    return [f.display for f in files]


def spec(path: str | list[str], **extra: Any) -> InputSpec:
    return InputSpec(path=path, **extra)


def test_glob_is_sorted_and_relative(tree: Path) -> None:
    files = expand_input(spec("data/*.jsonl"), tree)
    assert displays(files) == ["data/a.jsonl", "data/b.jsonl"]
    assert files[0].url == str(tree / "data" / "a.jsonl") and files[0].file_format == "auto"


def test_recursive_glob(tree: Path) -> None:
    files = expand_input(spec("data/**/*.jsonl"), tree)
    assert displays(files) == ["data/a.jsonl", "data/b.jsonl", "data/sub/c.jsonl", "data/sub/deep/d.jsonl"]


def test_directory_lists_visible_files(tree: Path) -> None:
    files = expand_input(spec("data"), tree)
    assert displays(files) == ["data/a.jsonl", "data/b.jsonl", "data/sub/c.jsonl", "data/sub/deep/d.jsonl",
                               "data/x.csv"]


def test_list_of_paths_keeps_order_and_drops_duplicates(tree: Path) -> None:
    files = expand_input(spec(["data/x.csv", "data/*.jsonl", "data/a.jsonl"]), tree)
    assert displays(files) == ["data/x.csv", "data/a.jsonl", "data/b.jsonl"]


def test_absolute_path_and_file_url(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("base")
    absolute = str(tree / "data" / "a.jsonl")
    assert displays(expand_input(spec(absolute), elsewhere)) == [absolute]
    assert displays(expand_input(spec("file://" + absolute), elsewhere)) == [absolute]


def test_format_and_options_are_passed_on(tree: Path) -> None:
    (file,) = expand_input(spec("data/x.csv", file_format="tsv", options={"delimiter": ","}), tree)
    assert file.file_format == "tsv" and file.options == {"delimiter": ","} and file.hint is None


def test_nothing_matched(tree: Path) -> None:
    with pytest.raises(InputError, match="matched no files") as info:
        expand_input(spec("data/*.parquet"), tree)
    assert info.value.hint is not None and str(tree) in info.value.hint
    with pytest.raises(InputError, match=r"input file not found: data/missing\.jsonl"):
        expand_input(spec("data/missing.jsonl"), tree)


def test_hf_source() -> None:
    (source,) = expand_input(spec("hf://org/name", options={"config": "en", "split": "test"}), Path("."))
    assert source.url == "hf://org/name" and source.file_format == "hf"
    assert source.display == "hf://org/name[en]:test"
    assert source.options == {"config": "en", "split": "test"}
    (default,) = expand_input(spec("hf://org/name"), Path("."))
    assert default.options == {"split": "train"} and default.display == "hf://org/name:train"
    with pytest.raises(InputError, match="not a Hub dataset name"):
        expand_input(spec("hf://a/b/c"), Path("."))


def test_fingerprint_changes_with_content_not_with_reading(tree: Path) -> None:
    files = expand_input(spec("data/*.jsonl"), tree)
    first = input_fingerprint(files)
    assert first == input_fingerprint(expand_input(spec("data/*.jsonl"), tree))
    target = tree / "data" / "a.jsonl"
    stat = target.stat()
    target.write_text('{"a": 2}\n')  # same size
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert input_fingerprint(files) != first
    assert input_fingerprint(files[:1]) != input_fingerprint(files)


def test_fingerprint_of_missing_file() -> None:
    with pytest.raises(InputError, match="not found"):
        input_fingerprint([SourceFile("/nonexistent/x.jsonl", "x.jsonl", "auto", {})])
