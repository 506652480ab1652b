"""Step base classes: one narrow method per family, executor-agnostic.

* :class:`RowStep` implements ``process(record) -> record | Drop`` (or the batched
  ``process_batch``); pure and picklable, run in parallel over shards.
* :class:`GlobalStep` implements three phases: ``signature(record)`` in parallel over shards,
  ``reduce(...)`` once over the small signatures, then ``apply(record, plan)`` in parallel.

Steps never know which executor runs them: they see records, signatures and plans, never files.
Parameters are a pydantic model (``Params``) with unknown keys rejected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from datamill.records import Record

if TYPE_CHECKING:
    from datamill.recipe.model import InputSpec


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


def _no_progress(key: str, done: int, total: int | None) -> None:
    """The progress reporter of a context made outside a run (tests, ``datamill plan``)."""


@dataclass(frozen=True, slots=True)
class Artifacts:
    """Files for people that a step writes next to its results (``clusters.json``, ``summary.csv``).

    The engine decides where they live; a step only names them. ``earlier`` holds the artifact folders of
    the run's finished earlier stages, in order, so a step can build a run-wide table from theirs
    (``summary_all.csv``).
    """

    folder: Path
    earlier: tuple[Path, ...] = ()

    def path(self, name: str) -> Path:
        """Where artifact ``name`` is written (for libraries that need a file path)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / name

    def write_text(self, name: str, text: str) -> str:
        """Publish ``name`` atomically (a reader never sees half a file); returns ``name``."""
        import os

        target = self.path(name)
        tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        return name

    def earlier_files(self, name: str) -> list[tuple[str, Path]]:
        """``(stage label, path)`` of artifact ``name`` in each finished earlier stage that wrote one."""
        return [(folder.name, folder / name) for folder in self.earlier if (folder / name).is_file()]


class SharedServices(Protocol):
    """What an executor shares between all the workers of a run (Ray: actors on the driver's node), for
    steps whose calls must share one rate limit and one cache of paid calls (``shared_limits``)."""

    def rate_limiter(self, name: str, rpm: float | None, tpm: float | None) -> Any:
        """The run's limiter called ``name`` (same interface as :class:`datamill.llm.ratelimit.RateLimiter`)."""

    def llm_cache(self, path: Path) -> Any:
        """The cache of paid calls stored at ``path`` (same interface as :class:`datamill.llm.cache.LLMCache`)."""


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step may know about the run it is part of, set by the engine before ``setup()`` (and before
    ``reduce``). Steps never build work-directory paths or import the executor: they ask the context.

    * ``cache_dir``: a folder for caches that survive a resume and are shared by the run's steps
      (LLM answers, embeddings); steps pick a file or sub-folder name in it.
    * ``batch_dir``: where batch-inference input files are written for the user to submit, and where
      the provider's output files are looked for.
    * ``artifacts``: this step's files for people.
    * ``workers``: how many threads a step may use inside ``reduce`` (the executor's parallelism).
    * ``services``: rate limits and caches shared by every worker of the run (None: the step's process is
      the only one running it, and builds its own).
    * ``review_dir``: where people's review decisions are stored (``datamill review``; ``review_apply``).
    * ``parallel``: in ``reduce`` only, spreads ``fn(*args)`` for every args tuple over the run's workers
      (processes, or the nodes of a cluster) and returns the results in order; ``fn`` and its arguments
      must be picklable (a module-level function). None elsewhere, and where there is nothing to spread to.
    """

    cache_dir: Path
    artifacts: Artifacts
    batch_dir: Path | None = None
    workers: int = 1
    #: progress bar key for long work inside ``reduce`` (embedding, synthesis); see :meth:`progress`
    progress_key: str | None = None
    #: ``(key, done, total)`` -> draws progress; set by the engine (picklable: a module-level function)
    reporter: Callable[[str, int, int | None], None] = _no_progress
    services: SharedServices | None = None
    review_dir: Path | None = None
    parallel: Callable[[Callable[..., Any], list[tuple[Any, ...]]], list[Any]] | None = None

    @classmethod
    def detached(cls, folder: Path) -> StepContext:
        """A context outside any run: caches and artifacts in ``folder`` (tests, one-off calls)."""
        return cls(cache_dir=folder / "cache", artifacts=Artifacts(folder), batch_dir=folder / "batch",
                   review_dir=folder / "review")

    def progress(self, done: int, total: int | None = None) -> None:
        """Report ``done`` more items of long work in ``reduce`` (and, once, the ``total``) to the run's
        progress bar, which shows rate and ETA. A no-op where no bar is shown."""
        if self.progress_key is not None:
            self.reporter(self.progress_key, done, total)


class Step(Generic[P]):
    """Common parts of every step.

    Subclasses set ``name`` (the short name used in recipes), ``Params`` and ``version`` (bump it when
    the output for the same input changes, so resume recomputes the step).
    """

    name: ClassVar[str]
    Params: ClassVar[type[Params]] = NoParams
    #: "2": the one vocabulary of names (datamill.selectors) changed what some names select
    version: ClassVar[str] = "2"
    #: Fields the step reads and writes, for ``datamill steps`` and validation.
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    #: At most this many worker processes run this step (None: the executor's). LLM steps say 1 and
    #: run their calls concurrently inside the process, so one rate limiter sees every call.
    max_workers: ClassVar[int | None] = None
    #: Every call of the step shares one rate limit and one cache of paid calls (LLM steps). An executor
    #: that shares them between its workers (``StepContext.services``: Ray) runs the step on all of them;
    #: another runs it in one process, whose own limiter and cache then see every call.
    shared_limits: ClassVar[bool] = False
    #: The step's output depends on something outside the recipe that changes between runs (people's review
    #: decisions): the records before it are stored, so that a change re-runs only this step and what follows
    #: it, not the steps it would otherwise run together with.
    starts_segment: ClassVar[bool] = False
    #: Records per ``process_batch`` call (None: the engine's default).
    batch_size: ClassVar[int | None] = None

    def __init__(self, params: P) -> None:
        self.params: P = params
        self.context: StepContext | None = None
        self._notes: Counter[str] = Counter()

    def setup(self) -> None:
        """Load heavy resources (models, tables) once per worker process, before the first record."""

    def fingerprint_extra(self, context: StepContext) -> Any:
        """What this step's output depends on besides its params and its input (a file people edit between
        runs, such as review decisions), as a JSON-serialisable value that becomes part of the stage's
        fingerprint: when it changes, this stage and the ones after it run again on resume. ``None`` (the
        default): nothing else."""
        return None

    def may_change(self) -> bool:
        """False for a step that only keeps or drops records, never changing one (filters): the build report
        then skips comparing each record before and after it."""
        return True

    def teardown(self) -> None:
        """Release what :meth:`setup` opened (database connections, clients); called once when the run
        that built this instance ends. The instance is not used afterwards."""

    def extra_inputs(self) -> list[InputSpec]:
        """Inputs this step reads besides its records (``check_leakage``'s evaluation sets). Their files'
        sizes and dates join the step's fingerprint, so a changed file re-runs the step on resume."""
        return []

    def max_records_out(self, records_in: int) -> int:
        """At most how many records this step passes on when it receives ``records_in``; ``datamill plan``
        bounds the calls of later LLM steps with it (a filter keeps at most what it gets; ``limit`` and
        ``sample`` cap it)."""
        return records_in

    def note(self, key: str, n: int = 1) -> None:
        """Count something about the records this step saw (``changed``: records a cleaner rewrote;
        ``coerced_numeric``...). The engine adds the counts to the stage's ``notes`` in ``stats.json``."""
        if n:
            self._notes[key] += n

    def check_stage(self, records_in: int, notes: Mapping[str, int], example: Record | None) -> None:
        """Called once, in the engine's process, after every shard of this step's stage ran (before the
        loss check): raise :class:`~datamill.errors.StepError` when the stage's result is wrong as a whole
        though each record looked fine (``filter`` names a field that no record has). ``notes`` are the
        stage's summed :meth:`note` counts; ``example`` is the stage's first input record (``None`` when
        it had none), for naming the fields that do exist."""

    def take_notes(self) -> Counter[str]:
        """The counts noted since the last call (the engine collects them per shard)."""
        notes, self._notes = self._notes, Counter()
        return notes

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
