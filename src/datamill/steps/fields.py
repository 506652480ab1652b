"""Field steps: rename, set, copy and drop a record's fields and text parts.

Every name is a selector name (:mod:`datamill.selectors`): a part (``prompt``, ``answer``, ``system``,
``reasoning``, ``chosen``, ``rejected``, ``text``) or a field path (``category``, ``meta.task_type``,
``scores.quality``, ``messages.0.content``). A part means the same thing written as read:
``set_fields: {values: {system: "You are ..."}}`` sets (or inserts) the system turn, ``map_fields:
{mapping: {prompt: meta.question}}`` writes the user turn. A bare name that is neither
(``difficulty``) is a recipe error suggesting ``meta.difficulty``.

Shared rules:

* a missing source leaves the record unchanged; with ``strict: true`` the record is dropped with
  reason ``missing_field`` (detail: the field) and nothing is changed;
* ``id`` is never written or removed (ids are stable from ingest on); ``prompt``, ``answer``, ``turns``
  and ``all`` are never removed (a record keeps its prompt and answer: filter it instead);
* a write or removal that cannot be done without ambiguity or damage (``text.x`` where ``text`` is a
  string; ``prompt`` on a record whose context has several user turns; ``answer`` on a preference
  record; an index past the end of a list) drops the record with reason ``field_conflict`` (detail: the
  field and why) and changes nothing.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from pydantic import Field, field_validator

from datamill.part_writes import WriteConflict, remove, write
from datamill.records import Record
from datamill.selectors import MISSING, PARTS, check_removable, check_selector, check_target, present, read_value
from datamill.steps.base import Drop, Params, RowStep

#: The record keys a write to a part may change.
_PART_ROOTS = {"chosen": ("chosen",), "rejected": ("rejected",), "text": ("text",)}
_CONVERSATION_ROOTS = ("messages", "chosen", "rejected", "text")


def roots(name: str) -> tuple[str, ...]:
    """The top-level keys of a record that writing or removing ``name`` can change."""
    if name in PARTS:
        return _PART_ROOTS.get(name, _CONVERSATION_ROOTS)
    return (name.split(".")[0],)


def check_disjoint(names: list[str]) -> None:
    """Reject targets where one is inside another (``meta.a`` and ``meta.a.b``; ``answer`` and
    ``messages.1.content``): the order of the writes would decide the result."""
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if a in PARTS and b in PARTS:
                continue  # parts write different turns, or refuse
            if a in PARTS or b in PARTS:
                part, path = (a, b) if a in PARTS else (b, a)
                if path.split(".")[0] in roots(part):
                    raise ValueError(f"targets '{part}' and '{path}' overlap")
                continue
            pa, pb = a.split("."), b.split(".")
            n = min(len(pa), len(pb))
            if pa[:n] == pb[:n]:
                raise ValueError(f"targets '{a}' and '{b}' overlap")


def change(record: Record, removals: list[str], writes: list[tuple[str, Any]]) -> Drop | None:
    """Remove then write, all or nothing: a ``field_conflict`` drop (record unchanged) when any of them
    cannot be done."""
    touched = dict.fromkeys(k for name in [*removals, *(n for n, _ in writes)] for k in roots(name))
    trial = copy.deepcopy({k: record[k] for k in touched if k in record})
    name = ""
    try:
        for name in removals:
            remove(trial, name)
        for name, value in writes:
            write(trial, name, value)
    except WriteConflict as exc:
        return Drop("field_conflict", {"field": name, "error": str(exc)})
    for key in touched:
        if key in trial:
            record[key] = trial[key]
        else:
            record.pop(key, None)
    return None


def _missing(record: Record, names: list[str]) -> str | None:
    for name in names:
        if not present(record, name):
            return name
    return None


class RenameParams(Params):
    mapping: dict[str, str] = Field(
        min_length=1, description="{old: new}, each a field path or a part; all renames happen at once, so a "
        "swap works"
    )
    strict: bool = Field(default=False, description="drop records missing a source field (missing_field)")

    @field_validator("mapping")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        for old, new in v.items():
            check_removable(old)
            check_target(new)
        check_disjoint(list(v.values()))
        return v


class RenameFields(RowStep[RenameParams]):
    """Rename (move) fields and parts: ``{mapping: {meta.topic: category, system: meta.system_prompt}}``.

    Reads and writes the mapped names. Every value is read first, then the old ones are removed (a
    part such as ``system`` loses its turns) and the new ones written, so ``{a: b, b: a}`` swaps. A missing
    old name is skipped (default), because mixed inputs often lack optional columns; ``strict: true``
    drops such records instead (``missing_field``). A move that cannot be done is a ``field_conflict``
    drop, and the record is unchanged.
    """

    name: ClassVar[str] = "rename_fields"
    Params = RenameParams

    def process(self, record: Record) -> Record | Drop:
        mapping = self.params.mapping
        if self.params.strict and (absent := _missing(record, list(mapping))):
            return Drop("missing_field", {"field": absent})
        found = [(old, new, copy.deepcopy(read_value(record, old, MISSING))) for old, new in mapping.items()
                 if present(record, old)]
        drop = change(record, [old for old, _, _ in found], [(new, value) for _, new, value in found])
        return drop if drop is not None else record


class SetParams(Params):
    values: dict[str, Any] = Field(min_length=1, description="{field path or part: constant value} written on "
                                   "every record")
    overwrite: bool = Field(
        default=True, description="replace existing values; false only fills fields that are missing or null"
    )

    @field_validator("values")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            check_target(name)
        check_disjoint(list(v))
        return v


class SetFields(RowStep[SetParams]):
    """Write constant values: ``{values: {kind: sft, meta.origin: crawl-2024, system: "You are ..."}}``.

    Writes the given names (lists and mappings are copied per record, never shared); a part is written
    as the module docs say (``system`` sets the system turn, inserting it when there is none).
    ``overwrite`` defaults to true because a recipe that names a value usually means it; set it to false
    to fill only where a field is missing or null (a part: where the record has none of it). A write
    that cannot be done is a ``field_conflict`` drop, and the record is unchanged.
    """

    name: ClassVar[str] = "set_fields"
    Params = SetParams

    def process(self, record: Record) -> Record | Drop:
        writes = list(self.params.values.items())
        if not self.params.overwrite:
            writes = [(n, v) for n, v in writes if read_value(record, n) is None]
        drop = change(record, [], [(n, copy.deepcopy(v)) for n, v in writes])
        return drop if drop is not None else record


class MapParams(Params):
    mapping: dict[str, str] = Field(
        min_length=1, description="{target: source}, each a field path or a part: copy the source's value to "
        "the target"
    )
    strict: bool = Field(default=False, description="drop records missing a source field (missing_field)")

    @field_validator("mapping")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        for target, source in v.items():
            check_target(target)
            check_selector(source)
        check_disjoint(list(v))
        return v


class MapFields(RowStep[MapParams]):
    """Copy values: ``{mapping: {category: meta.subject, prompt: meta.question, meta.original_id: id}}``.

    Reads the sources and writes the targets (target: source); the source stays in place (use
    ``rename_fields`` to move). All sources are read before any target is written. A part read as a
    source gives its text (``chosen``/``rejected``: the message list); values are deep-copied so the two
    places never share a list or mapping. A write that cannot be done is a ``field_conflict`` drop, and
    the record is unchanged.

    ``strict: true`` drops records missing a source (``missing_field``).
    """

    name: ClassVar[str] = "map_fields"
    Params = MapParams

    def process(self, record: Record) -> Record | Drop:
        mapping = self.params.mapping
        if self.params.strict and (absent := _missing(record, list(mapping.values()))):
            return Drop("missing_field", {"field": absent})
        found = [(target, copy.deepcopy(read_value(record, source, MISSING))) for target, source in mapping.items()
                 if present(record, source)]
        drop = change(record, [], found)
        return drop if drop is not None else record


class DropParams(Params):
    fields: list[str] = Field(min_length=1, description="field paths or parts (system, reasoning, text ...) to "
                              "remove, e.g. [meta.raw_html, scores, system]")
    strict: bool = Field(default=False, description="drop records missing one of the fields (missing_field)")

    @field_validator("fields")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            check_removable(name)
        return v


class DropFields(RowStep[DropParams]):
    """Remove fields and parts: ``{fields: [meta.raw_html, meta.url, system]}``; ``meta`` alone removes
    every original column, ``system`` the system turns, ``reasoning`` the answer's chain of thought.

    Writes (removes) the listed names; missing ones are ignored unless ``strict: true``. Nothing inside a
    list is removed (``messages.0.content``): that is a ``field_conflict`` drop, and the record is
    unchanged.
    """

    name: ClassVar[str] = "drop_fields"
    Params = DropParams

    def process(self, record: Record) -> Record | Drop:
        if self.params.strict and (absent := _missing(record, self.params.fields)):
            return Drop("missing_field", {"field": absent})
        drop = change(record, [n for n in self.params.fields if present(record, n)], [])
        return drop if drop is not None else record
