"""Field steps: rename, set, copy and drop record fields by dotted path.

Paths are read with :func:`datamill.records.get_field`: ``meta.task_type``, ``scores.quality``, or a bare
name that is not a canonical field (``task_type``), which means ``meta.task_type``. Writes follow the
same rule, so a non-canonical target lands in ``meta`` and the record keeps its canonical shape:
``category`` is written at the top level, ``difficulty`` as ``meta.difficulty``.

Shared rules:

* a missing source field leaves the record unchanged; with ``strict: true`` the record is dropped with
  reason ``missing_field`` (detail: the field) and nothing is changed;
* ``id`` is never written or removed (ids are stable from ingest on), and the text parts ``prompt``,
  ``answer``, ``conversation`` ... are not fields: map them with the input's ``fields:`` instead;
* a write through a value that is not a mapping (``text.x`` where ``text`` is a string) drops the
  record with reason ``field_conflict`` instead of overwriting data.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from typing import Any, ClassVar

from pydantic import Field, field_validator

from datamill.records import PARTS, TOP_LEVEL_FIELDS, Record, get_field
from datamill.steps.base import Drop, Params, RowStep

_MISSING = object()
_NOT_FIELDS = frozenset(PARTS) - frozenset(TOP_LEVEL_FIELDS)


def check_path(path: str, *, target: bool) -> str:
    """Validate a dotted path; ``target`` paths (written or removed) may not be ``id`` or a text part."""
    if not path or any(not part for part in path.split(".")):
        raise ValueError(f"'{path}' is not a field path (empty part)")
    if target and path.split(".")[0] == "id":
        raise ValueError("'id' cannot be changed: ids are assigned at ingest and never reassigned")
    if target and path in _NOT_FIELDS:
        raise ValueError(f"'{path}' is a text part, not a field; map it with the input's 'fields:' option")
    return path


def write_path(path: str) -> list[str]:
    """Where a write to ``path`` goes: non-canonical top-level names are written under ``meta``."""
    parts = path.split(".")
    return parts if parts[0] in TOP_LEVEL_FIELDS else ["meta", *parts]


def conflict(record: Mapping[str, Any], parts: list[str]) -> str | None:
    """Why ``parts`` cannot be written without overwriting a non-mapping on the way, or ``None``."""
    node: Any = record
    for i, part in enumerate(parts[:-1]):
        node = node.get(part)
        if node is None:
            return None
        if not isinstance(node, MutableMapping):
            return f"'{'.'.join(parts[: i + 1])}' is a {type(node).__name__}, not a mapping"
    return None


def assign(record: Record, parts: list[str], value: Any) -> None:
    """Set ``record[parts...] = value``, creating mappings (check :func:`conflict` first)."""
    node: MutableMapping[str, Any] = record
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def parent(record: Record, path: str) -> MutableMapping[str, Any] | None:
    """The mapping holding the field ``get_field`` reads at ``path``; ``None`` when that is a list."""
    parts = path.split(".")
    node: Any = record
    meta = record.get("meta")
    if parts[0] not in record and parts[0] not in TOP_LEVEL_FIELDS and isinstance(meta, Mapping):
        node = meta
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, MutableMapping) else None


def check_writes(record: Record, removals: list[str], targets: list[list[str]]) -> Drop | None:
    """A ``field_conflict`` drop when a removal or a write cannot be done; checked before any change."""
    for path in removals:
        if parent(record, path) is None:
            return Drop("field_conflict", {"field": path, "error": "it is inside a list, not a mapping"})
    for parts in targets:
        if (problem := conflict(record, parts)) is not None:
            return Drop("field_conflict", {"field": ".".join(parts), "error": problem})
    return None


def check_disjoint(paths: list[list[str]]) -> None:
    """Reject targets where one is inside another (``a`` and ``a.b``): their order would matter."""
    for i, a in enumerate(paths):
        for b in paths[i + 1:]:
            n = min(len(a), len(b))
            if a[:n] == b[:n]:
                raise ValueError(f"targets '{'.'.join(a)}' and '{'.'.join(b)}' overlap")


def _copy(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _missing(record: Record, paths: list[str]) -> str | None:
    for path in paths:
        if get_field(record, path, _MISSING) is _MISSING:
            return path
    return None


class RenameParams(Params):
    mapping: dict[str, str] = Field(
        min_length=1, description="{old_path: new_path}; all renames happen at once, so a swap works"
    )
    strict: bool = Field(default=False, description="drop records missing a source field (missing_field)")

    @field_validator("mapping")
    @classmethod
    def _paths(cls, v: dict[str, str]) -> dict[str, str]:
        for old, new in v.items():
            check_path(old, target=True)
            check_path(new, target=True)
        check_disjoint([write_path(new) for new in v.values()])
        return v


class RenameFields(RowStep[RenameParams]):
    """Rename (move) fields: ``{mapping: {meta.topic: category, meta.q_id: meta.question_id}}``.

    Reads and writes the mapped paths. Every value is read first, then the old fields are removed and
    the new ones written, so ``{a: b, b: a}`` swaps. A missing old field is skipped (default), because
    mixed inputs often lack optional columns; ``strict: true`` drops such records instead.
    """

    name: ClassVar[str] = "rename_fields"
    Params = RenameParams

    def __init__(self, params: RenameParams) -> None:
        super().__init__(params)
        self._moves = [(old, write_path(new)) for old, new in params.mapping.items()]

    def process(self, record: Record) -> Record | Drop:
        if self.params.strict and (absent := _missing(record, list(self.params.mapping))):
            return Drop("missing_field", {"field": absent})
        found = [(old, target, v) for old, target in self._moves
                 if (v := get_field(record, old, _MISSING)) is not _MISSING]
        if (drop := check_writes(record, [f[0] for f in found], [f[1] for f in found])) is not None:
            return drop
        for old, _, _ in found:
            holder = parent(record, old)
            if holder is not None:
                holder.pop(old.split(".")[-1], None)
        for _, target, value in found:
            assign(record, target, value)
        return record


class SetParams(Params):
    values: dict[str, Any] = Field(min_length=1, description="{path: constant value} written on every record")
    overwrite: bool = Field(
        default=True, description="replace existing values; false only fills fields that are missing or null"
    )

    @field_validator("values")
    @classmethod
    def _paths(cls, v: dict[str, Any]) -> dict[str, Any]:
        for path in v:
            check_path(path, target=True)
        check_disjoint([write_path(p) for p in v])
        return v


class SetFields(RowStep[SetParams]):
    """Write constant values: ``{values: {kind: sft, meta.origin: crawl-2024, tags: [web]}}``.

    Writes the given paths (lists and mappings are copied per record, never shared). ``overwrite``
    defaults to true because a recipe that names a value usually means it; set it to false to fill
    defaults only where a field is missing or null.
    """

    name: ClassVar[str] = "set_fields"
    Params = SetParams

    def __init__(self, params: SetParams) -> None:
        super().__init__(params)
        self._writes = [(write_path(path), value) for path, value in params.values.items()]

    def process(self, record: Record) -> Record | Drop:
        writes = self._writes
        if not self.params.overwrite:
            writes = [(t, v) for t, v in writes if get_field(record, ".".join(t)) is None]
        if (drop := check_writes(record, [], [t for t, _ in writes])) is not None:
            return drop
        for target, value in writes:
            assign(record, target, _copy(value))
        return record


class MapParams(Params):
    mapping: dict[str, str] = Field(
        min_length=1, description="{target_path: source_path}: copy the source value to the target"
    )
    strict: bool = Field(default=False, description="drop records missing a source field (missing_field)")

    @field_validator("mapping")
    @classmethod
    def _paths(cls, v: dict[str, str]) -> dict[str, str]:
        for target, source in v.items():
            check_path(target, target=True)
            check_path(source, target=False)
        check_disjoint([write_path(t) for t in v])
        return v


class MapFields(RowStep[MapParams]):
    """Copy fields: ``{mapping: {category: meta.subject, meta.original_id: id}}`` (target: source).

    Reads the source paths and writes the targets; the source stays in place (use ``rename_fields`` to
    move). All sources are read before any target is written. Values are deep-copied so the two fields
    never share a list or mapping.
    """

    name: ClassVar[str] = "map_fields"
    Params = MapParams

    def __init__(self, params: MapParams) -> None:
        super().__init__(params)
        self._copies = [(write_path(target), source) for target, source in params.mapping.items()]

    def process(self, record: Record) -> Record | Drop:
        if self.params.strict and (absent := _missing(record, list(self.params.mapping.values()))):
            return Drop("missing_field", {"field": absent})
        found = [(target, v) for target, source in self._copies
                 if (v := get_field(record, source, _MISSING)) is not _MISSING]
        if (drop := check_writes(record, [], [t for t, _ in found])) is not None:
            return drop
        for target, value in found:
            assign(record, target, _copy(value))
        return record


class DropParams(Params):
    fields: list[str] = Field(min_length=1, description="paths to remove, e.g. [meta.raw_html, scores]")
    strict: bool = Field(default=False, description="drop records missing one of the fields (missing_field)")

    @field_validator("fields")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        for path in v:
            check_path(path, target=True)
        return v


class DropFields(RowStep[DropParams]):
    """Remove fields: ``{fields: [meta.raw_html, meta.url]}``; ``meta`` alone removes every original column.

    Writes (removes) the listed paths; missing fields are ignored unless ``strict: true``.
    """

    name: ClassVar[str] = "drop_fields"
    Params = DropParams

    def process(self, record: Record) -> Record | Drop:
        if self.params.strict and (absent := _missing(record, self.params.fields)):
            return Drop("missing_field", {"field": absent})
        present = [p for p in self.params.fields if get_field(record, p, _MISSING) is not _MISSING]
        if (drop := check_writes(record, present, [])) is not None:
            return drop
        for path in present:
            holder = parent(record, path)
            if holder is not None:
                holder.pop(path.split(".")[-1], None)
        return record
