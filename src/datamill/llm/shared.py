"""One rate limit and one cache of paid calls for LLM steps running on several workers (a Ray cluster).

:class:`LLMHub` holds the run's limiters (:class:`~datamill.llm.ratelimit.RateLimiter`, keyed by name) and
its caches (:class:`~datamill.llm.cache.LLMCache`, SQLite files on the driver's machine), and the *claims*
on requests being paid for right now. It lives in one process (a Ray actor on the driver's node); the
workers reach it through :class:`SharedLimiter` and :class:`SharedCache`, which have the interfaces the
:class:`~datamill.llm.client.LLMClient` uses, and a ``call(method, *args)`` function given by the executor
(so this module never imports Ray).

* Rate: every call reserves its slot in the hub, which answers with the delay to wait; the spacing is
  the same as one process's limiter (no burst, 429s widen it for everyone), so N workers together never
  go above ``rpm``/``tpm``.
* Paid once: a worker that misses the cache *claims* the request; another worker that needs the same
  request meanwhile waits for the answer instead of paying for it again. A claim whose worker died is
  given to the next asker after ``CLAIM_TIMEOUT_S``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamill.llm.cache import LLMCache
from datamill.llm.ratelimit import RateLimiter
from datamill.llm.request import ChatRequest, ChatResult

CLAIM_TIMEOUT_S = 300.0
WAIT_S = 0.2

HubCall = Callable[..., Any]


class LLMHub:
    """The shared state, in one process. Methods are called one at a time (a Ray actor's default)."""

    def __init__(self) -> None:
        self.limiters: dict[str, RateLimiter] = {}
        self.caches: dict[str, LLMCache] = {}
        self.claims: dict[tuple[str, str], tuple[str, float]] = {}

    # -- rate ---------------------------------------------------------------------------------------
    def _limiter(self, name: str, rpm: float | None, tpm: float | None) -> RateLimiter:
        if name not in self.limiters:
            self.limiters[name] = RateLimiter(rpm, tpm)
        return self.limiters[name]

    def reserve(self, name: str, rpm: float | None, tpm: float | None, tokens: int) -> float:
        """Seconds the caller waits before starting its call."""
        limiter = self._limiter(name, rpm, tpm)
        return max(0.0, limiter.reserve(tokens) - limiter.clock())

    def correct_tokens(self, name: str, estimated: int, actual: int) -> None:
        if name in self.limiters:
            self.limiters[name].correct_tokens(estimated, actual)

    def throttled(self, name: str, retry_after: float | None) -> None:
        if name in self.limiters:
            self.limiters[name].throttled(retry_after)

    def succeeded(self, name: str) -> None:
        if name in self.limiters:
            self.limiters[name].succeeded()

    # -- cache --------------------------------------------------------------------------------------
    def _cache(self, path: str) -> LLMCache:
        if path not in self.caches:
            self.caches[path] = LLMCache(Path(path))
        return self.caches[path]

    def claim(self, path: str, key: str, owner: str) -> ChatResult | bool:
        """The cached answer; else True when ``owner`` may pay for the call (now its claim), False when
        another owner is paying for it right now."""
        hit = self._cache(path).get(key)
        if hit is not None:
            return hit
        now = time.monotonic()
        held = self.claims.get((path, key))
        if held is not None and held[0] != owner and now - held[1] < CLAIM_TIMEOUT_S:
            return False
        self.claims[(path, key)] = (owner, now)
        return True

    def release(self, path: str, key: str) -> None:
        self.claims.pop((path, key), None)

    def get(self, path: str, key: str) -> ChatResult | None:
        return self._cache(path).get(key)

    def put(self, path: str, request: ChatRequest, result: ChatResult, source: str) -> None:
        self._cache(path).put(request, result, source)
        self.claims.pop((path, result.key), None)

    def put_raw(self, path: str, key: str, model: str, request: dict[str, Any], result: ChatResult,
                source: str) -> None:
        self._cache(path).put_raw(key, model, request, result, source)
        self.claims.pop((path, key), None)

    def count(self, path: str) -> int:
        return self._cache(path).count()

    def close(self) -> None:
        for cache in self.caches.values():
            cache.close()
        self.caches.clear()


class SharedLimiter:
    """A worker's view of a hub limiter: the :class:`RateLimiter` methods the client calls."""

    def __init__(self, call: HubCall, name: str, rpm: float | None, tpm: float | None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.call = call
        self.name = name
        self.rpm = rpm
        self.tpm = tpm
        self.sleep = sleep

    def acquire(self, tokens: int = 0) -> None:
        delay = float(self.call("reserve", self.name, self.rpm, self.tpm, tokens))
        if delay > 0:
            self.sleep(delay)

    def correct_tokens(self, estimated: int, actual: int) -> None:
        if self.tpm is not None:
            self.call("correct_tokens", self.name, estimated, actual)

    def throttled(self, retry_after: float | None) -> None:
        self.call("throttled", self.name, retry_after)

    def succeeded(self) -> None:
        self.call("succeeded", self.name)


class SharedCache:
    """A worker's view of a hub cache: the :class:`LLMCache` methods the client calls, plus claims."""

    def __init__(self, call: HubCall, path: Path, owner: str) -> None:
        self.call = call
        self.path = str(path)
        self.owner = owner

    def claim(self, key: str) -> ChatResult | bool:
        result: ChatResult | bool = self.call("claim", self.path, key, self.owner)
        return result

    def release(self, key: str) -> None:
        self.call("release", self.path, key)

    def get(self, key: str) -> ChatResult | None:
        result: ChatResult | None = self.call("get", self.path, key)
        return result

    def put(self, request: ChatRequest, result: ChatResult, source: str = "call") -> None:
        self.call("put", self.path, request, result, source)

    def put_raw(self, key: str, model: str, request: dict[str, Any], result: ChatResult, source: str) -> None:
        self.call("put_raw", self.path, key, model, request, result, source)

    def count(self) -> int:
        return int(self.call("count", self.path))

    def close(self) -> None:
        """The hub owns the database; nothing to close here."""
