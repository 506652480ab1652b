"""Live progress of an LLM step: calls done/total, achieved rate vs limit, errors by kind, tokens, ETA.

The engine's bars tick per record batch; this logs one line (logger ``datamill.llm``) every
``every_s`` seconds and at the end, and keeps the numbers for the step's caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger("datamill.llm")


@dataclass
class CallProgress:
    label: str
    total: int = 0
    rpm_limit: float | None = None
    every_s: float = 10.0
    done: int = 0
    cached: int = 0
    paid: int = 0
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    _last_log: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_total(self, n: int, cached: int) -> None:
        with self._lock:
            self.total += n
            self.cached += cached
            self.done += cached

    def attempt(self) -> None:
        with self._lock:
            self.attempts += 1

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1

    def finished(self, input_tokens: int, output_tokens: int, paid: bool) -> None:
        with self._lock:
            self.done += 1
            if paid:
                self.paid += 1
                self.input_tokens += input_tokens
                self.output_tokens += output_tokens
        self.maybe_log()

    def achieved_rpm(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.attempts / elapsed * 60 if elapsed > 0 else 0.0

    def snapshot(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        live = self.done - self.cached
        remaining = self.total - self.done
        eta = remaining / (live / elapsed) if live and elapsed > 0 else None
        return {"done": self.done, "total": self.total, "cached": self.cached, "paid": self.paid,
                "attempts": self.attempts, "rpm": round(self.achieved_rpm(), 1), "rpm_limit": self.rpm_limit,
                "errors": dict(self.errors), "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "eta_s": None if eta is None else round(eta, 1),
                "seconds": round(elapsed, 1)}

    def line(self) -> str:
        s = self.snapshot()
        limit = f" (limit {s['rpm_limit']:g})" if s["rpm_limit"] else ""
        errors = ", ".join(f"{k} x{v}" for k, v in sorted(s["errors"].items())) or "none"
        eta = "-" if s["eta_s"] is None else f"{int(s['eta_s'] // 60)}m{int(s['eta_s'] % 60):02d}s"
        return (f"{self.label}: {s['done']}/{s['total']} calls ({s['cached']} cached), {s['rpm']:g} req/min"
                f"{limit}, errors: {errors}, tokens {s['input_tokens']} in / {s['output_tokens']} out, ETA {eta}")

    def maybe_log(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_log >= self.every_s:
            self._last_log = now
            LOG.info(self.line())
