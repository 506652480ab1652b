"""A local OpenAI-compatible chat server that behaves like a busy provider, for benchmarks and tests.

It enforces a requests/min limit over a sliding 60 s window (429 with ``Retry-After`` above it),
answers after a random latency, fails a share of calls with 500, and counts every *paid* call (a 200
answer) by request body so duplicates can be reported. ``GET /stats`` returns the counts. The answer
is a JSON object echoing a hash of the request, so a client can check it got its own answer.

Run: ``python -m datamill.llm.mockserver --port 8099 --rpm 600``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class MockState:
    rpm: float | None = 600.0
    latency: tuple[float, float] = (0.3, 1.5)
    error_rate: float = 0.02
    seed: int = 0
    #: builds the answer text from the request body (default: a JSON echo)
    reply: Callable[[dict[str, Any]], str] | None = None
    in_flight: int = 0
    admitted: int = 0
    first_admit: float | None = None
    last_admit: float | None = None
    window: deque[float] = field(default_factory=deque)
    #: ``time.monotonic()`` of every request that reached the handler, in order
    arrivals: list[float] = field(default_factory=list)
    paid: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    errors: int = 0
    first: float | None = None
    last: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=random.Random)

    def admit(self) -> tuple[bool, float]:
        """(accepted, retry_after): the sliding-window limit."""
        now = time.monotonic()
        with self.lock:
            while self.window and now - self.window[0] >= 60.0:
                self.window.popleft()
            if self.rpm is not None and len(self.window) >= self.rpm:
                self.rejected += 1
                return False, max(0.05, 60.0 - (now - self.window[0]))
            self.window.append(now)
            self.admitted += 1
            self.first_admit = now if self.first_admit is None else self.first_admit
            self.last_admit = now
            return True, 0.0

    def stats(self) -> dict[str, Any]:
        with self.lock:
            paid = sum(self.paid.values())
            span = (self.last - self.first) if self.first is not None and self.last is not None else 0.0
            first, last = self.first_admit, self.last_admit
            admit_span = (last - first) if first is not None and last is not None else 0.0
            rpm = (self.admitted - 1) / admit_span * 60 if admit_span > 0 else 0.0
            return {"admitted": self.admitted, "admitted_rpm": round(rpm, 1), "admit_span_s": round(admit_span, 2),
                    "paid": paid, "in_flight": self.in_flight, "unique": len(self.paid),
                    "duplicates": paid - len(self.paid),
                    "rejected_429": self.rejected, "errors_5xx": self.errors, "paid_span_s": round(span, 3)}


def _handler(state: MockState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/stats"):
                self._send(200, state.stats())
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}})
                return
            with state.lock:
                state.arrivals.append(time.monotonic())
            ok, retry_after = state.admit()
            if not ok:
                self._send(429, {"error": {"message": "rate limit", "type": "rate_limit"}},
                           {"Retry-After": f"{retry_after:.2f}"})
                return
            with state.lock:
                fail = state.rng.random() < state.error_rate
                delay = state.rng.uniform(*state.latency)
                state.in_flight += 1
            time.sleep(delay)
            with state.lock:
                state.in_flight -= 1
            if fail:
                with state.lock:
                    state.errors += 1
                self._send(500, {"error": {"message": "injected server error"}})
                return
            body = json.loads(raw or b"{}")
            digest = hashlib.sha256(raw).hexdigest()[:16]
            with state.lock:
                state.paid[digest] += 1
                now = time.monotonic()
                state.first = now if state.first is None else state.first
                state.last = now
            content = state.reply(body) if state.reply is not None else json.dumps(
                {"echo": digest, "label": "a", "confidence": 0.9, "reasoning": "mock"})
            self._send(200, {
                "id": f"mock-{digest}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "mock"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            })

    return Handler


class MockServer:
    """Start with :meth:`start` (a background thread), stop with :meth:`stop`; ``url`` ends in ``/v1``."""

    def __init__(self, state: MockState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state or MockState()
        self.state.rng.seed(self.state.seed)
        self.httpd = ThreadingHTTPServer((host, port), _handler(self.state))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> MockServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:  # pragma: no cover - manual use
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--rpm", type=float, default=600)
    ap.add_argument("--error-rate", type=float, default=0.02)
    args = ap.parse_args()
    server = MockServer(MockState(rpm=args.rpm, error_rate=args.error_rate), port=args.port)
    print(f"mock OpenAI server on {server.url}", flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
