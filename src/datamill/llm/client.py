"""The LLM client: cache first, then the provider at the configured rate, with retries and a budget.

``run(requests)`` answers a list of requests (a shard's batch) concurrently, up to the configured
concurrency, each call paced by the shared :class:`RateLimiter`. Every answer is committed to the
cache the moment it arrives, so a killed step repeats at most the calls that were in flight; two
identical requests in one list are sent once. Batch providers answer from result files instead and
write the requests still missing to a new batch input file.

Ctrl-C (``KeyboardInterrupt`` in the waiting thread) stops the client at once: no call starts after it
(calls queued or waiting for their rate-limit slot or a retry are abandoned), the calls already sent
are waited for so that their answers reach the cache, and the interrupt is raised again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from datamill.llm import batch
from datamill.llm.budget import BudgetExhausted, BudgetTracker
from datamill.llm.cache import LLMCache
from datamill.llm.config import LLMConfig
from datamill.llm.errors import LLMCallError
from datamill.llm.progress import CallProgress
from datamill.llm.providers.base import Provider
from datamill.llm.ratelimit import RateLimiter
from datamill.llm.request import ChatRequest, ChatResult

BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 60.0


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """``Retry-After`` when the server gave one, else exponential with full jitter (0.5 s, 1 s, 2 s, ...)."""
    if retry_after is not None:
        return min(BACKOFF_MAX_S, retry_after)
    return random.uniform(0.5, 1.0) * min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**attempt)


class LLMClient:
    """One per step and process. ``provider_factory`` builds the live provider on first use. ``cache`` and
    ``limiter`` may be shared by every worker of a cluster (:mod:`datamill.llm.shared`)."""

    #: seconds between looks at a request another worker is paying for
    WAIT_S = 0.2

    def __init__(self, config: LLMConfig, cache: LLMCache | Any, *, label: str = "llm",
                 batch_dir: Path | None = None, provider: Provider | None = None,
                 provider_factory: Callable[[LLMConfig], Provider] | None = None,
                 sleep: Callable[[float], None] | None = None, limiter: RateLimiter | Any = None) -> None:
        self.config = config
        self.cache = cache
        self.label = label
        self.batch_dir = batch_dir
        self._provider = provider
        self._provider_factory = provider_factory
        self._provider_lock = threading.Lock()
        #: set on Ctrl-C: no call may start any more; waits (rate slots, backoff) end early
        self._stop = threading.Event()
        self.sleep: Callable[[float], None] = sleep or self._wait
        #: the run's own limiter, or one shared by every worker of a cluster (it then keeps its own waits)
        self.limiter = limiter if limiter is not None else RateLimiter(config.rpm, config.tpm, sleep=self.sleep)
        self.budget = BudgetTracker(config.budget)
        self.progress = CallProgress(label, rpm_limit=config.rpm)
        self._batch_loaded = False
        self._batch_errors: dict[str, str] = {}
        self.batch_inputs: list[str] = []

    @property
    def provider(self) -> Provider:
        with self._provider_lock:
            if self._provider is None:
                from datamill.llm.providers import build_provider

                factory = self._provider_factory or build_provider
                self._provider = factory(self.config)
            return self._provider

    # -- public -------------------------------------------------------------------------------
    def run(self, requests: Sequence[ChatRequest]) -> list[ChatResult]:
        """Answer every request (from the cache, batch results or live calls), in order."""
        keys = [r.key() for r in requests]
        results: dict[str, ChatResult] = {}
        unique: dict[str, ChatRequest] = {}
        waiting: dict[str, ChatRequest] = {}  # another worker is paying for these right now
        for key, request in zip(keys, requests, strict=True):
            if key in results or key in unique or key in waiting:
                continue
            if self.config.is_batch:
                hit = self.cache.get(key)
                claimed: ChatResult | bool = hit if hit is not None else True
            else:
                claimed = self.cache.claim(key)
            if isinstance(claimed, ChatResult):
                results[key] = claimed
            elif claimed:
                unique[key] = request
            else:
                waiting[key] = request
        self.progress.add_total(len(unique) + len(results) + len(waiting), len(results))
        if unique:
            answered = self._run_batch(unique) if self.config.is_batch else self._run_live(unique)
            results.update(answered)
        while waiting:  # answered by the other worker (free), or claimed by us once its claim ended
            self.sleep(self.WAIT_S)
            mine: dict[str, ChatRequest] = {}
            for key, request in list(waiting.items()):
                claimed = self.cache.claim(key)
                if isinstance(claimed, ChatResult):
                    results[key] = claimed
                    self.progress.finished(0, 0, paid=False)
                    del waiting[key]
                elif claimed:
                    mine[key] = request
                    del waiting[key]
            if mine:
                results.update(self._run_live(mine))
        self.progress.maybe_log(force=True)
        return [results[k] for k in keys]

    def close(self) -> None:
        self.cache.close()

    def _wait(self, seconds: float) -> None:
        """Sleep, but wake as soon as the client is stopped."""
        self._stop.wait(seconds)

    # -- live calls ---------------------------------------------------------------------------
    def _run_live(self, todo: dict[str, ChatRequest]) -> dict[str, ChatResult]:
        _ = self.provider  # build it (imports the SDK) before the first slot is reserved: no burst later
        workers = max(1, min(self.config.effective_concurrency(), len(todo)))
        # threads even for one call at a time: Ctrl-C lands in this (waiting) thread, never inside a call
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")
        try:
            futures = {k: pool.submit(self._call, r) for k, r in todo.items()}
            return {k: f.result() for k, f in futures.items()}
        except BaseException:
            # Ctrl-C (or a bug): start nothing more, let the calls in flight land in the cache, re-raise
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)

    def _call(self, request: ChatRequest) -> ChatResult:
        key = request.key()
        attempt = 0
        while True:
            estimate = request.estimated_tokens()
            self.limiter.acquire(estimate)
            if self._stop.is_set():
                return ChatResult(key=key, error="interrupted")
            try:
                self.budget.reserve()
            except BudgetExhausted as exc:
                self.progress.error("budget")
                self.cache.release(key)
                return ChatResult(key=key, error="budget", detail=str(exc))
            self.progress.attempt()
            started = time.monotonic()
            try:
                result = self.provider.complete(request)
            except LLMCallError as exc:
                self.budget.release()
                self.progress.error(exc.kind)
                if exc.kind == "429":
                    self.limiter.throttled(exc.retry_after)
                if not exc.retryable or attempt >= self.config.max_retries:
                    self.cache.release(key)
                    return ChatResult(key=key, error=exc.kind, detail=str(exc)[:500])
                self.sleep(backoff_delay(attempt, exc.retry_after))
                attempt += 1
                continue
            result.key = key
            result.seconds = time.monotonic() - started
            self.limiter.correct_tokens(estimate, result.input_tokens + result.output_tokens)
            self.limiter.succeeded()
            self.budget.spent(result.input_tokens, result.output_tokens)
            self.cache.put(request, result)
            self.progress.finished(result.input_tokens, result.output_tokens, paid=True)
            return result

    # -- batch files --------------------------------------------------------------------------
    def load_batch_outputs(self) -> int:
        """Import every configured result file into the cache (answers) or the error table; returns answers."""
        answered = 0
        for path in batch.expand(self.config.batch_output):
            for res in batch.read_output(path):
                if res.text is not None:
                    cached = ChatResult(key=res.record_id, text=res.text, input_tokens=res.input_tokens,
                                        output_tokens=res.output_tokens, raw=res.raw)
                    self.cache.put_raw(res.record_id, self.config.model or "", res.model_input, cached, path)
                    self._batch_errors.pop(res.record_id, None)
                    answered += 1
                elif self.cache.get(res.record_id) is None:
                    self._batch_errors[res.record_id] = res.error or "error"
        self._batch_loaded = True
        return answered

    def _run_batch(self, todo: dict[str, ChatRequest]) -> dict[str, ChatResult]:
        if not self._batch_loaded:
            self.load_batch_outputs()
        out: dict[str, ChatResult] = {}
        pending: list[ChatRequest] = []
        for key, request in todo.items():
            hit = self.cache.get(key)
            if hit is not None:
                out[key] = hit
                self.progress.finished(0, 0, paid=False)
                continue
            pending.append(request)
            error = self._batch_errors.get(key)
            out[key] = ChatResult(key=key, error="batch_failed" if error else "batch_pending", detail=error)
        if pending:
            self.batch_inputs.append(self._write_pending(pending))
        return out

    def _write_pending(self, pending: list[ChatRequest]) -> str:
        import hashlib

        folder = self.batch_dir or Path("batch")
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256("".join(sorted(r.key() for r in pending)).encode()).hexdigest()[:12]
        path = folder / f"{self.label}-{digest}.jsonl"
        batch.write_input(str(path), pending, self.config.provider, self.config.batch_format)
        return str(path)
