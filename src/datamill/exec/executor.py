"""The executor protocol: *where* tasks run. :mod:`datamill.exec.run` decides *what* runs.

Every task is a picklable dataclass (or tuple of plain values) sent to a module-level function that
writes its results to the work directory and returns something small (counts, a marker). An executor
only has to run such calls somewhere and bring back their return values in task order:

* ``map(fn, tasks)``: ``fn(*args)`` for every args tuple, in parallel; the first error is raised as itself;
* ``call(fn, *args)``: ``fn`` in the driver's process (a global step's reduce, joining export parts);
* ``limited(cap)``: the same executor running at most ``cap`` tasks at once (steps with ``max_workers``);
* ``shutdown(kill)``: release workers; ``kill`` when the run failed and work in flight is abandoned;
* ``describe()``: lines for the run's log saying where its tasks ran (the Ray executor: how many on which
  nodes), or none.

``shared_services()`` is what the executor shares between every worker of the run beyond the work
directory (:class:`~datamill.steps.base.SharedServices`: one rate limit and one paid-call cache for LLM
steps), or None when it has none: then steps that need them (``shared_limits``) are capped to a single
process, whose in-process limiter and cache see every call. ``shares_services`` says which, without
starting anything.

Implementations: :class:`~datamill.exec.local.LocalExecutor` (a process pool) and
:class:`~datamill.exec.ray.RayExecutor` (Ray tasks; the only module that imports Ray).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from datamill.exec.progress import ProgressSink
    from datamill.exec.store import Mount
    from datamill.recipe.model import ExecutorSpec
    from datamill.steps.base import SharedServices, Step

R = TypeVar("R")


class Executor(Protocol):
    #: how many tasks run at once (also the parallelism a reduce may use in the driver)
    workers: int
    shares_services: bool

    def shared_services(self) -> SharedServices | None: ...

    def map(self, fn: Callable[..., R], tasks: Sequence[tuple[Any, ...]]) -> list[R]: ...

    def call(self, fn: Callable[..., R], *args: Any) -> R: ...

    def limited(self, cap: int) -> Executor: ...

    def shutdown(self, kill: bool = False) -> None: ...

    def describe(self) -> list[str]: ...


def step_cap(executor: Executor, steps: Iterable[Step | None]) -> int | None:
    """The most processes these steps may run in on ``executor`` (None: no cap).

    ``max_workers`` caps a step everywhere. A step with ``shared_limits`` (LLM steps: one rate limit and
    one cache for all their calls) runs in one process unless the executor shares those services
    between its workers (Ray), where it runs on every worker.
    """
    caps = []
    for step in steps:
        if step is None:
            continue
        if step.max_workers is not None:
            caps.append(step.max_workers)
        if step.shared_limits and not executor.shares_services:
            caps.append(1)
    return min(caps) if caps else None


def for_steps(executor: Executor, steps: Iterable[Step | None]) -> Executor:
    """``executor``, or its :meth:`~Executor.limited` view when the steps cap their processes."""
    cap = step_cap(executor, steps)
    if cap is None or cap >= executor.workers:
        return executor
    return executor.limited(cap)


def build_executor(spec: ExecutorSpec, *, workers: int | None, sink: ProgressSink, mount: Mount | None,
                   kind: str | None = None, address: str | None = None) -> Executor:
    """The executor a run asked for: the recipe's ``executor:`` block, overridden by ``kind``/``address``
    (``datamill run --executor ray --address auto``)."""
    kind = kind or spec.type
    if kind == "ray":
        from datamill.exec.ray import RayExecutor

        return RayExecutor(address if address is not None else spec.address, workers or spec.workers, sink,
                           mount=mount, object_store_mb=spec.object_store_mb)
    from datamill.exec.local import LocalExecutor

    return LocalExecutor(workers or spec.workers, sink)
