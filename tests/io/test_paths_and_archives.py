"""Paths that come from data stay where the user pointed (dataset_info.json entries, archive members);
archive members can be selected with a glob after ``!``; members that hold no data are skipped and
reported, not quarantined; unknown input options are errors."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from datamill.errors import InputError, RecipeError
from datamill.exec.run import run_recipe
from datamill.io.read import read_rows
from datamill.io.sources import expand_input
from datamill.recipe.load import load_recipe_data
from datamill.recipe.model import InputSpec

ROW = {"instruction": "q", "input": "", "output": "a"}


def _registry(root: Path, entries: dict[str, Any]) -> Path:
    folder = root / "data"
    folder.mkdir(exist_ok=True)
    (folder / "ok.json").write_text(json.dumps([ROW]), encoding="utf-8")
    path = folder / "dataset_info.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def _expand(root: Path, **options: Any) -> list[Any]:
    return expand_input(InputSpec(path="data/dataset_info.json", options=options), root)


@pytest.mark.parametrize(("file_name", "shown"), [
    ("../" * 40 + "etc/passwd", f"'{'../' * 40}etc/passwd' points outside the registry's folder (to /etc/passwd)"),
    ("/etc/passwd", "'/etc/passwd' points outside the registry's folder"),
    ("../secret.json", "'../secret.json' points outside the registry's folder"),
    ("s3://another-bucket/x.jsonl", "'s3://another-bucket/x.jsonl' points outside"),
    ("file:///etc/passwd", "'file:///etc/passwd' points outside"),
])
def test_registry_paths_must_stay_in_its_folder(tmp_path: Path, file_name: str, shown: str) -> None:
    (tmp_path / "secret.json").write_text(json.dumps([ROW]), encoding="utf-8")
    _registry(tmp_path, {"evil": {"file_name": file_name}, "fine": {"file_name": "ok.json"}})
    with pytest.raises(InputError, match="dataset 'evil' in data/dataset_info.json: file_name " + _re(shown)) as info:
        _expand(tmp_path)
    assert "allow_outside_paths" in (info.value.hint or "")
    assert [s.display for s in _expand(tmp_path, datasets=["fine"])] == ["data/ok.json"]


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_allow_outside_paths_reads_them(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text(json.dumps([ROW]), encoding="utf-8")
    _registry(tmp_path, {"outside": {"file_name": "../secret.json"}})
    files = _expand(tmp_path, allow_outside_paths=True)
    assert [f.url for f in files] == [str(tmp_path / "secret.json")]


def test_symbolic_links_below_the_folder_are_followed_to_where_they_lead(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.json").write_text(json.dumps([ROW]), encoding="utf-8")
    _registry(tmp_path, {"link": {"file_name": "link.json"}, "shards": {"file_name": "shards"}})
    os.symlink(outside / "x.json", tmp_path / "data/link.json")
    (tmp_path / "data/shards").mkdir()
    (tmp_path / "data/shards/0.json").write_text(json.dumps([ROW]), encoding="utf-8")
    os.symlink(outside / "x.json", tmp_path / "data/shards/1.json")
    with pytest.raises(InputError, match=r"dataset 'link' .* file_name 'link\.json' points outside .*elsewhere"):
        _expand(tmp_path, datasets=["link"])
    with pytest.raises(InputError, match=r"dataset 'shards' .* file_name 'shards' points outside .*elsewhere"):
        _expand(tmp_path, datasets=["shards"])


def test_hub_entry_folder_stays_in_the_dataset(tmp_path: Path) -> None:
    _registry(tmp_path, {"hub": {"hf_hub_url": "org/ds", "folder": "../../other"}})
    with pytest.raises(InputError, match=r"dataset 'hub' .*folder '\.\./\.\./other' points outside"):
        _expand(tmp_path)
    assert _expand(tmp_path, allow_outside_paths=True)[0].options["data_dir"] == "../../other"


def _tar(path: Path, members: list[tuple[str, bytes | None, str]]) -> Path:
    """members: (name, data, kind) with kind file, dir or symlink."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
    return path


TSV = "src\ttgt\n{a}\t{b}\n"


def _corpus(root: Path) -> Path:
    return _tar(root / "wmt.tar.gz", [
        ("README.md", b"# WMT sample\n\nsee LICENSE\n", "file"),
        ("LICENSE", b"CC BY 4.0\n", "file"),
        ("en-zh", None, "dir"),
        ("en-zh/train.tsv", TSV.format(a="Hello, how are you?", b="你好，你好吗？").encode(), "file"),
        ("en-zh/test.tsv", TSV.format(a="Goodbye, see you.", b="再见，回头见。").encode(), "file"),
        ("de-en/train.tsv", TSV.format(a="Hallo, wie geht es?", b="Hello, how are you?").encode(), "file"),
        ("img/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "file"),
        ("blob.dat", bytes(range(256)) * 4, "file"),
        ("latest.tsv", None, "symlink"),
        ("../escape.tsv", TSV.format(a="x", b="y").encode(), "file"),
    ])


def _run(root: Path, spec: dict[str, Any]) -> dict[str, Any]:
    recipe = {"name": "t", "inputs": [{"format": "raw", **spec}], "outputs": [{"format": "jsonl"}]}
    return run_recipe(load_recipe_data(recipe, root), root / "run", workers=1)


def test_members_selected_by_a_glob_after_the_bang(tmp_path: Path) -> None:
    _corpus(tmp_path)
    summary = _run(tmp_path, {"path": "wmt.tar.gz!en-zh/*.tsv"})
    assert summary["totals"] == {"read": 2, "written": 2, "dropped": {}, "quarantined": 0}
    rows = [json.loads(line) for line in (tmp_path / "run/export/data.jsonl").read_text("utf-8").splitlines()]
    assert [r["source_id"] for r in rows] == ["wmt.tar.gz!en-zh/train.tsv:2", "wmt.tar.gz!en-zh/test.tsv:2"]


def test_members_without_data_are_skipped_and_reported_not_quarantined(tmp_path: Path) -> None:
    _corpus(tmp_path)
    summary = _run(tmp_path, {"path": "wmt.tar.gz"})
    assert summary["totals"] == {"read": 3, "written": 3, "dropped": {}, "quarantined": 0}
    notes = summary["steps"][0]["notes"]
    assert notes == {
        "archive members skipped: a directory, link or special file": 2,
        "archive members skipped: binary data that is not Parquet": 1,
        "archive members skipped: holds no data (documentation, media, code or binaries)": 3,
        "archive members skipped: its path climbs out of the archive (set allow_outside_paths to read it)": 1,
    }
    skipped = summary["inputs"][0]
    assert skipped["stats"]["notes"] == notes


def test_limit_counts_records_not_skipped_members(tmp_path: Path) -> None:
    _corpus(tmp_path)
    summary = _run(tmp_path, {"path": "wmt.tar.gz", "limit": 2})
    assert summary["totals"] == {"read": 2, "written": 2, "dropped": {}, "quarantined": 0}
    rows = [json.loads(line) for line in (tmp_path / "run/export/data.jsonl").read_text("utf-8").splitlines()]
    assert [r["source_id"] for r in rows] == ["wmt.tar.gz!en-zh/train.tsv:2", "wmt.tar.gz!en-zh/test.tsv:2"]


def test_a_selection_that_matches_nothing_names_the_members(tmp_path: Path) -> None:
    _corpus(tmp_path)
    with pytest.raises(InputError, match=r"wmt\.tar\.gz!fr-en/\*\.tsv matched no member") as info:
        _run(tmp_path, {"path": "wmt.tar.gz!fr-en/*.tsv"})
    assert "en-zh/train.tsv" in (info.value.hint or "")


def test_zip_symlinks_are_not_read(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("one.jsonl", b'{"i": 1}\n')
        link = zipfile.ZipInfo("link.jsonl")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    stream = read_rows(next(iter(expand_input(InputSpec(path="a.zip"), tmp_path))))
    assert [r.value for r in stream] == [{"i": 1}]
    assert dict(stream.members.skipped) == {"a directory, link or special file": 1}


@pytest.mark.parametrize(("spec", "hint"), [
    ({"path": "x.csv", "options": {"delimeter": ";"}}, "did you mean 'delimiter'? valid options: jsonl: encoding; "),
    ({"path": "x.csv", "file_format": "csv", "options": {"sep": ";"}},
     "valid options: csv: delimiter, encoding, header, infer_types, quoting, ragged; record formats: "),
    ({"path": "x.csv", "format": "ranked", "options": {"pair": "all"}},
     "did you mean 'pairs'? valid options: jsonl: encoding; "),
])
def test_unknown_input_options_are_recipe_errors(tmp_path: Path, spec: dict[str, Any], hint: str) -> None:
    recipe = {"name": "t", "inputs": [spec], "outputs": [{"format": "jsonl"}]}
    with pytest.raises(RecipeError, match=r"inputs\[0\]\.options\.\w+: unknown option") as info:
        load_recipe_data(recipe, tmp_path)
    assert hint in (info.value.hint or "")


def test_options_of_another_container_are_noted(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text(json.dumps(ROW) + "\n", encoding="utf-8")
    summary = _run(tmp_path, {"path": "x.jsonl", "options": {"delimiter": ";"}})
    assert summary["steps"][0]["notes"] == {"options delimiter do not apply to jsonl files: ignored": 1}


def test_what_the_json_reader_notices_reaches_the_notes(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('[{"a": 1},\n {"a": 2}\n', encoding="utf-8")
    summary = _run(tmp_path, {"path": "x.json"})
    assert summary["totals"]["read"] == 2
    assert summary["steps"][0]["notes"] == {"the JSON array is not closed with ']'": 1}
