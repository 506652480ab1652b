"""The Ray executor: the run's tasks as Ray tasks on a cluster. The only module that imports Ray.

Each task of :mod:`datamill.exec.executor`'s protocol (read a file, run a segment over a shard, compute
signatures, write an export part) becomes one Ray task calling the same function with the same
picklable arguments. Workers write their results to the work directory themselves (a folder every node
sees, or an ``s3://`` URL, see :mod:`datamill.exec.store`) and return only small values (counts,
markers), so no record travels through the driver or the object store. The reduce of a global step and
the join of export parts run in the driver (``call``), over the same files, in the same order as with
the local executor: the output is byte for byte the local one.
A task also returns the id of the node it ran on: the run's log ends with how many tasks ran on how
many nodes (:meth:`RayExecutor.describe`).

Faults: a worker that dies is retried by Ray (``max_retries``); a task rewrites its shard from the
start and publishes it atomically, so a retry changes nothing. An error raised by the task itself
(a data-loss check, a step error) is not retried and reaches the user as itself.

Around each task the worker process gets the run's mount (remote work directory), its progress channel
(an actor the driver drains) and, when a new run starts in a reused worker process, the previous run's
step instances are torn down. LLM steps share one :class:`~datamill.llm.shared.LLMHub` actor, pinned to
the driver's node (its SQLite cache is a local file there): one rate limit and one cache for the cluster.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from datamill.errors import require
from datamill.exec import progress, store
from datamill.exec.progress import ProgressSink
from datamill.exec.step_tasks import close_steps
from datamill.llm.shared import LLMHub, SharedCache, SharedLimiter

R = TypeVar("R")

#: retries of a task whose worker died (its node failed, it was killed, it ran out of memory)
MAX_RETRIES = 3
DEFAULT_OBJECT_STORE_MB = 256

_RUN: str | None = None  # the run whose step instances this worker process holds


def _ray() -> Any:
    return require("ray", "ray", "the Ray executor")


# -- worker side -------------------------------------------------------------------------------------


class _Relay:
    """Progress messages from every worker, drained by the driver (a Ray actor)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []

    def put(self, item: tuple[str, Any]) -> None:
        self.items.append(item)

    def drain(self) -> list[tuple[str, Any]]:
        items, self.items = self.items, []
        return items


@dataclass(frozen=True)
class _RelayChannel:
    relay: Any

    def put(self, item: tuple[str, Any]) -> None:
        self.relay.put.remote(item)


@dataclass(frozen=True)
class _WorkerEnv:
    """What a worker process needs around every task of a run."""

    run_id: str
    mount: store.Mount | None
    relay: Any

    def enter(self) -> None:
        global _RUN
        if self.run_id != _RUN:  # a reused worker: release the previous run's steps (clients, models)
            close_steps()
            _RUN = self.run_id
        store.mount(self.mount)
        progress.install(_RelayChannel(self.relay))


def _run_task(env: _WorkerEnv, fn: Callable[..., R], args: tuple[Any, ...]) -> tuple[str, R]:
    """``fn(*args)`` in a worker, returned with the id of the node it ran on."""
    import ray

    env.enter()
    try:
        return ray.get_runtime_context().get_node_id(), fn(*args)
    finally:
        progress.flush()
        progress.install(None)


@dataclass(frozen=True)
class _HubCall:
    """``call(method, *args)`` on the hub actor, waiting for its answer (see :mod:`datamill.llm.shared`)."""

    hub: Any

    def __call__(self, method: str, *args: Any) -> Any:
        import ray

        return ray.get(getattr(self.hub, method).remote(*args))


@dataclass(frozen=True)
class RayServices:
    """The cluster's rate limiters and LLM cache, behind one hub actor on the driver's node."""

    hub: Any

    def rate_limiter(self, name: str, rpm: float | None, tpm: float | None) -> SharedLimiter:
        return SharedLimiter(_HubCall(self.hub), name, rpm, tpm)

    def llm_cache(self, path: Any) -> SharedCache:
        return SharedCache(_HubCall(self.hub), path, owner=f"{os.getpid()}-{uuid.uuid4().hex[:8]}")


# -- driver side -------------------------------------------------------------------------------------


class RayExecutor:
    """Runs tasks on the Ray cluster at ``address`` (None: ``RAY_ADDRESS``, else a Ray instance started for
    this run with ``workers`` CPUs). A process already connected to Ray (``ray.init`` called) keeps its
    connection, and the executor leaves it open at shutdown."""

    shares_services = True

    def __init__(self, address: str | None, workers: int | None, sink: ProgressSink, *,
                 mount: store.Mount | None = None, object_store_mb: int | None = None) -> None:
        ray = _ray()
        self.sink = sink
        self._owns_ray = False
        if not ray.is_initialized():
            if address is None and not os.environ.get("RAY_ADDRESS"):
                from datamill.exec.local import default_workers

                ray.init(num_cpus=workers or default_workers(), include_dashboard=False, log_to_driver=False,
                         object_store_memory=(object_store_mb or DEFAULT_OBJECT_STORE_MB) << 20)
            else:
                ray.init(address=address, log_to_driver=False)
            self._owns_ray = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = min(workers, cpus) if workers else cpus
        self._window = self.workers
        here = ray.get_runtime_context().get_node_id()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        #: actors of the run live on the driver's node and take no CPU from the tasks
        self._pinned = {"num_cpus": 0, "scheduling_strategy": NodeAffinitySchedulingStrategy(here, soft=False)}
        self._relay = ray.remote(_Relay).options(**self._pinned).remote()
        self._env = _WorkerEnv(uuid.uuid4().hex, mount, self._relay)
        self._task = ray.remote(_run_task).options(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)
        self._hub: Any = None
        self._views: list[RayExecutor] = []
        #: node id -> tasks of this run that finished there (shared with the limited views)
        self._placed: Counter[str] = Counter()

    def shared_services(self) -> RayServices:
        if self._hub is None:
            ray = _ray()
            self._hub = ray.remote(LLMHub).options(**self._pinned).remote()
        return RayServices(self._hub)

    def limited(self, cap: int) -> RayExecutor:
        """The same cluster, at most ``cap`` tasks at once."""
        view = object.__new__(RayExecutor)
        view.__dict__.update(self.__dict__)
        view.workers = view._window = max(1, min(cap, self.workers))
        view._owns_ray = False
        view._views = []
        return view

    def call(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn`` in the driver's process (a reduce, a join), its progress going to the sink."""
        return progress.call_with_sink(self.sink, fn, *args)

    def _drain(self) -> None:
        ray = _ray()
        for item in ray.get(self._relay.drain.remote()):
            progress.deliver(self.sink, item)

    def map(self, fn: Callable[..., R], tasks: Sequence[tuple[Any, ...]]) -> list[R]:
        """``fn(*args)`` for every args tuple as Ray tasks, at most ``workers`` in flight; results in task order."""
        if not tasks:
            return []
        ray = _ray()
        results: list[Any] = [None] * len(tasks)
        flying: dict[Any, int] = {}
        submitted = 0
        try:
            while submitted < len(tasks) or flying:
                while submitted < len(tasks) and len(flying) < self._window:
                    flying[self._task.remote(self._env, fn, tasks[submitted])] = submitted
                    submitted += 1
                done, _ = ray.wait(list(flying), num_returns=len(flying), timeout=0.2)
                self._drain()
                for ref in done:
                    node, results[flying.pop(ref)] = _result(ray, ref)
                    self._placed[node] += 1
        except BaseException:
            for ref in flying:
                ray.cancel(ref, force=True)
            raise
        self._drain()
        return results

    def describe(self) -> list[str]:
        """Where the run's tasks ran: ``ray: 40 tasks on 2 nodes (27 on 1f3a9c0e, 13 on 7b2d4e61)`` (node ids
        shortened to 8 characters; nothing when no task ran)."""
        if not self._placed:
            return []
        total = sum(self._placed.values())
        nodes = sorted(self._placed.items(), key=lambda item: (-item[1], item[0]))
        where = ", ".join(f"{count} on {node[:8]}" for node, count in nodes)
        return [f"ray: {total} task{'s' * (total != 1)} on {len(nodes)} node{'s' * (len(nodes) != 1)} ({where})"]

    def shutdown(self, kill: bool = False) -> None:
        ray = _ray()
        if not ray.is_initialized():
            return
        if self._hub is not None:
            with contextlib.suppress(Exception):  # a hub that died has nothing left to close
                ray.get(self._hub.close.remote())
        for actor in (self._hub, self._relay):
            if actor is not None:
                ray.kill(actor)
        self._hub = None
        if self._owns_ray:
            ray.shutdown()


def _result(ray: Any, ref: Any) -> Any:
    """A task's return value; an error the task raised is raised as itself (its exit code, its hint)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise
