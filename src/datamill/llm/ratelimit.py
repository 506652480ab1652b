"""Requests/min and tokens/min limits with requests spaced evenly, and adaptive slow-down on 429.

Each call reserves the next free slot: slots are ``60 / rpm`` seconds apart from the first call on,
so there is no burst at the start (a token bucket that starts full would send ``rpm`` calls at once
and collect a wall of 429s). Tokens are reserved the same way at ``tpm / 60`` tokens per second,
using an estimate before the call and corrected with the real count after it. A 429 widens the
spacing (x1.25, at most x4) and pauses every thread for ``Retry-After``; successes narrow it back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Thread-safe pacing. ``rpm``/``tpm`` of None mean unlimited."""

    SLOW_STEP = 1.25
    SLOW_MAX = 4.0
    RECOVER = 0.97

    def __init__(self, rpm: float | None, tpm: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock
        self.sleep = sleep
        self.slow = 1.0
        self._lock = threading.Lock()
        self._next_request: float | None = None
        self._next_token: float | None = None
        self._paused_until = 0.0

    @property
    def interval(self) -> float:
        return 0.0 if self.rpm is None else 60.0 / self.rpm * self.slow

    def reserve(self, tokens: int = 0) -> float:
        """Reserve a slot for one call of about ``tokens`` tokens; returns the time to start it."""
        with self._lock:
            now = self.clock()
            start = max(now, self._paused_until)
            if self.rpm is not None:
                start = max(start, self._next_request if self._next_request is not None else now)
                self._next_request = start + self.interval
            if self.tpm is not None and tokens:
                token_start = self._next_token if self._next_token is not None else now
                start = max(start, token_start)
                self._next_token = max(token_start, now) + tokens / (self.tpm / 60.0) * self.slow
            return start

    def acquire(self, tokens: int = 0) -> None:
        """Block until this call may start."""
        start = self.reserve(tokens)
        delay = start - self.clock()
        if delay > 0:
            self.sleep(delay)

    def correct_tokens(self, estimated: int, actual: int) -> None:
        """Move the token schedule by the difference between the estimate and the real count."""
        if self.tpm is None or self._next_token is None:
            return
        with self._lock:
            self._next_token += (actual - estimated) / (self.tpm / 60.0)

    def throttled(self, retry_after: float | None) -> None:
        """A 429 (or a Bedrock throttle): slow down, and pause everyone for ``retry_after`` seconds."""
        with self._lock:
            self.slow = min(self.SLOW_MAX, self.slow * self.SLOW_STEP)
            if retry_after:
                self._paused_until = max(self._paused_until, self.clock() + retry_after)

    def succeeded(self) -> None:
        with self._lock:
            if self.slow > 1.0:
                self.slow = max(1.0, self.slow * self.RECOVER)
