"""The exporter interface every output format plugs into.

An exporter turns a canonical record into one row of its target format (``convert``), or refuses it
with a :class:`~datamill.steps.base.Drop` reason when the target trainer would skip or choke on it;
it writes rows to a file through a :class:`RowWriter`; and it may add files next to the data
(``finalize``: e.g. LLaMA-Factory's ``dataset_info.json``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import IO, Any, ClassVar, Generic, TypeVar, get_args, get_origin

from datamill.records import Record
from datamill.steps.base import Drop, NoParams, Params


@dataclass
class ExportedFile:
    """One written data file: where, which split, how many rows, its SHA-1 (for dataset_info.json)."""

    path: str
    split: str | None
    records: int
    sha1: str


class RowWriter:
    """Writes converted rows to an open binary file.

    ``joinable`` says how files written by this writer for consecutive parts of the data join into the
    file one writer would have written for all of it (``lines``: concatenated; ``json_array``: one JSON
    array; ``parquet``: the row groups re-batched). The export stage then writes the parts in parallel
    and joins them; with ``None`` (a writer whose files cannot be joined) it writes in one process.
    """

    joinable: ClassVar[str | None] = None

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh

    def write(self, row: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file (footers, closing brackets). Does not close ``fh``."""


OptionsT = TypeVar("OptionsT", bound=Params)


class Exporter(Generic[OptionsT]):
    """Base class for output formats, generic over its options model: ``class X(Exporter[XOptions])``.

    Subclasses set ``name`` and ``extension``; ``Options`` (the pydantic model a recipe's
    ``outputs[].options`` is validated against, unknown keys rejected) is taken from the type argument.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    extension: ClassVar[str] = ".jsonl"
    Options: ClassVar[type[Params]] = NoParams
    #: ``convert`` returns the record itself and the writer encodes it exactly as records are stored, so
    #: the export may copy stored bytes without decoding them (canonical JSON Lines)
    passthrough: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Options" in cls.__dict__:
            return
        for base in getattr(cls, "__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Exporter):
                args = [a for a in get_args(base) if isinstance(a, type) and issubclass(a, Params)]
                if args:
                    cls.Options = args[0]

    def __init__(self, options: OptionsT) -> None:
        self.options: OptionsT = options
        self._notes: Counter[str] = Counter()

    def note(self, what: str, n: int = 1) -> None:
        """Count something the output did to rows without refusing them (it reaches the output's stats notes)."""
        self._notes[what] += n

    def take_notes(self) -> Counter[str]:
        notes, self._notes = self._notes, Counter()
        return notes

    def convert(self, record: Record) -> Any | Drop:
        """The row to write for ``record``, or ``Drop(reason)`` if the target cannot take it."""
        raise NotImplementedError

    def writer(self, fh: IO[bytes]) -> RowWriter:
        raise NotImplementedError

    def finalize(self, files: list[ExportedFile], out_dir: str) -> dict[str, str]:
        """Extra files to write next to the data: {relative name: text content}."""
        return {}
