"""Step base classes: one narrow method per family, executor-agnostic.

* :class:`RowStep` implements ``process(record) -> record | Drop`` (or the batched
  ``process_batch``); pure and picklable, run in parallel over shards.
* :class:`GlobalStep` implements three phases: ``signature(record)`` in parallel over shards,
  ``reduce(...)`` once over the small signatures, then ``apply(record, plan)`` in parallel.

Steps never know which executor runs them: they see records, signatures and plans, never files.
Parameters are a pydantic model (``Params``) with unknown keys rejected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from datamill.records import Record


class Params(BaseModel):
    """Base for step parameters: unknown keys are an error, values are validated and frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """For steps without parameters."""


@dataclass(frozen=True, slots=True)
class Drop:
    """A record a step removes, with the reason (a short stable key) and optional details.

    The reason becomes a key of ``dropped`` in ``stats.json``; ``detail`` is written next to the
    record in ``dropped/*.jsonl`` (for a duplicate: the id that kept its place and the similarity).
    """

    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


P = TypeVar("P", bound=Params)


@dataclass(frozen=True, slots=True)
class StepContext:
    """Where a step runs, set by the engine before ``setup()`` (and before ``reduce``): the run's work
    directory (for caches such as ``cache/llm.sqlite``) and this step's stage directory."""

    workdir: Path
    stage: Path
    #: progress bar key for long work inside ``reduce`` (embedding, synthesis); see :meth:`progress`
    progress_key: str | None = None

    def progress(self, done: int, total: int | None = None) -> None:
        """Report ``done`` more items of long work in ``reduce`` (and, once, the ``total``) to the run's
        progress bar, which shows rate and ETA. A no-op where no bar is shown."""
        from datamill.exec import progress

        if self.progress_key is None:
            return
        if total is not None:
            progress.set_total(self.progress_key, total)
        if done:
            progress.tick(self.progress_key, done)


class Step(Generic[P]):
    """Common parts of every step.

    Subclasses set ``name`` (the short name used in recipes), ``Params`` and ``version`` (bump it when
    the output for the same input changes, so resume recomputes the step).
    """

    name: ClassVar[str]
    Params: ClassVar[type[Params]] = NoParams
    version: ClassVar[str] = "1"
    #: Fields the step reads and writes, for ``datamill steps`` and validation.
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    #: At most this many worker processes run this step (None: the executor's). LLM steps say 1 and
    #: run their calls concurrently inside the process, so one rate limiter sees every call.
    max_workers: ClassVar[int | None] = None
    #: Records per ``process_batch`` call (None: the engine's default).
    batch_size: ClassVar[int | None] = None

    def __init__(self, params: P) -> None:
        self.params: P = params
        self.context: StepContext | None = None

    @property
    def stage_dir(self) -> Path | None:
        """This step's stage directory in the run (files for people go here), once the engine set it."""
        return None if self.context is None else self.context.stage

    @property
    def workdir(self) -> Path | None:
        """The run's work directory (caches that survive a resume go under it), once the engine set it."""
        return None if self.context is None else self.context.workdir

    def setup(self) -> None:
        """Load heavy resources (models, tables) once per worker process, before the first record."""

    @classmethod
    def doc(cls) -> str:
        return (cls.__doc__ or "").strip()


class RowStep(Step[P]):
    """A step that maps or filters records independently of each other."""

    def process(self, record: Record) -> Record | Drop:
        raise NotImplementedError

    def process_batch(self, records: Sequence[Record]) -> list[Record | Drop]:
        """Override for steps that gain from batching (embeddings, LLM calls)."""
        return [self.process(r) for r in records]


S = TypeVar("S")  # one record's signature
L = TypeVar("L")  # one shard's plan


@dataclass(frozen=True, slots=True)
class ShardSignatures(Generic[S]):
    """The signatures of one shard, in record order."""

    shard: str
    signatures: list[S]  # or what the step's ``pack`` made of the list


class GlobalStep(Step[P], Generic[P, S, L]):
    """A step whose decision needs every record: dedup, sample, split, quota synthesis.

    1. ``signature(record)`` runs in parallel and must be small (a hash, a group key, a random key);
    2. ``reduce(shards)`` runs once over all signatures in shard order and returns a plan per shard;
    3. ``apply(record, index, plan)`` runs in parallel, with only that shard's plan.
    """

    def signature(self, record: Record) -> S:
        raise NotImplementedError

    def signature_batch(self, records: Sequence[Record]) -> list[S]:
        """The signatures of several records, in order. Override when a bulk call is faster (MinHash)."""
        return [self.signature(r) for r in records]

    def pack(self, signatures: list[S]) -> Any:
        """Worker side: one shard's signatures as they are stored for the reduce, which receives this as
        ``ShardSignatures.signatures``. The default keeps the list; override with a columnar form when
        the reduce would otherwise walk millions of small objects (MinHash)."""
        return signatures

    def reduce(self, shards: Iterator[ShardSignatures[S]]) -> dict[str, L] | Iterator[tuple[str, L]]:
        """Plans by shard: a dict, or (shard, plan) pairs yielded one by one (for big plans; a shard
        that gets none has the plan ``None``). ``report()`` is read after the last pair."""
        raise NotImplementedError

    #: True when the step only keeps or drops records by their position, never reading or changing one
    #: (dedup): it implements :meth:`decide`, and the engine copies kept records' stored bytes without
    #: decoding and re-encoding them
    filter_only: ClassVar[bool] = False

    def decide(self, index: int, plan: L) -> Drop | None:
        """Filter-only steps: ``None`` keeps record ``index`` of the shard, a :class:`Drop` removes it."""
        raise NotImplementedError

    def apply(self, record: Record, index: int, plan: L) -> Record | Drop:
        if self.filter_only:
            drop = self.decide(index, plan)
            return record if drop is None else drop
        raise NotImplementedError

    def extra_records(self, plan: L) -> list[Record]:
        """New records to append to this shard's output after its own (quota synthesis); counted as
        ``generated`` so that ``in + generated = out + dropped + quarantined``."""
        return []

    def report(self) -> dict[str, Any]:
        """Extra statistics from the reduce phase (e.g. a category table) for ``stats.json``."""
        return {}
