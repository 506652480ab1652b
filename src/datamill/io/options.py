"""The ``options:`` an input takes: reader options per container, options of the source itself, and
the record format's own options (declared by each format adapter). An unknown key is a recipe error
listing the valid ones, like any unknown key; an option of another container than the one detected is
noted in the file's log (``delimiter`` on a JSON Lines file does nothing) rather than ignored silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datamill.errors import RecipeError

_ENCODING = {"encoding": "text encoding (default: UTF-8, GBK detected)"}
_DELIMITED = {
    **_ENCODING,
    "delimiter": "a character, or tab, comma, semicolon, pipe, whitespace",
    "header": "whether the first row names the columns (detected)",
    "quoting": "honour \"...\" quoting (default: on, off for tabs and whitespace)",
    "infer_types": "turn 12, 1.5, true and empty cells into numbers, booleans and null",
    "ragged": "pad short rows and keep extra cells in _extra instead of quarantining them",
}
_TEXT = {**_ENCODING, "text_unit": "line (a document per line) or file (the whole file)"}

#: Reader options by container (``file_format``).
CONTAINER_OPTIONS: dict[str, dict[str, str]] = {
    "jsonl": dict(_ENCODING),
    "json": {**_ENCODING, "json_shape": "array, objects or keyed (detected)"},
    "csv": _DELIMITED,
    "tsv": _DELIMITED,
    "text-lines": _TEXT,
    "text-file": _TEXT,
    "parquet": {"columns": "read only these columns", "batch_size": "rows per batch (default 8192)"},
    "hf": {
        "split": "the split (default train)", "config": "the configuration", "name": "the configuration",
        "revision": "a branch, tag or commit", "data_dir": "a folder inside the dataset",
        "streaming": "iterate without building the Arrow cache",
    },
}
#: Options of the source itself, whatever its container.
SOURCE_OPTIONS: dict[str, str] = {
    "datasets": "dataset_info.json: the entries to read (default: all)",
    "allow_outside_paths": "dataset_info.json: let file_name and folder point outside the registry's folder",
}


def _listing(options: Mapping[str, str]) -> str:
    return ", ".join(sorted(options))


def check_options(options: Mapping[str, Any], file_format: str, record_format: str,
                  format_options: Mapping[str, str]) -> None:
    """Raise a :class:`RecipeError` (location ``options.KEY``) for a key no part of the input reads.

    ``file_format`` ``auto`` accepts every container's options (the container is detected per file);
    ``format_options`` are the record format's (every format's when it is detected).
    """
    containers = CONTAINER_OPTIONS if file_format == "auto" else {file_format: CONTAINER_OPTIONS.get(file_format, {})}
    valid: dict[str, str] = {**SOURCE_OPTIONS, **format_options}
    for opts in containers.values():
        valid.update(opts)
    for key in options:
        if key in valid:
            continue
        import difflib

        close = difflib.get_close_matches(str(key), list(valid), n=1)
        groups = [f"{name}: {_listing(opts)}" for name, opts in containers.items()]
        if format_options:
            which = "record formats" if record_format == "auto" else f"record format {record_format}"
            groups.append(f"{which}: {_listing(format_options)}")
        groups.append(f"any input: {_listing(SOURCE_OPTIONS)}")
        raise RecipeError(
            f"unknown option '{key}'",
            hint=(f"did you mean '{close[0]}'? " if close else "") + "valid options: " + "; ".join(groups),
            location=f"options.{key}",
        )


def inapplicable(options: Mapping[str, Any], file_format: str) -> list[str]:
    """Reader options given for another container than ``file_format`` (they do nothing here)."""
    own = CONTAINER_OPTIONS.get(file_format, {})
    others = {key for name, opts in CONTAINER_OPTIONS.items() if name != file_format for key in opts}
    return sorted(k for k in options if k in others and k not in own)
