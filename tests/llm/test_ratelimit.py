from __future__ import annotations

from datamill.llm.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_requests_are_spaced_evenly_without_initial_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=None, clock=clock, sleep=clock.sleep)
    starts = [limiter.reserve() for _ in range(5)]
    assert starts == [100.0, 100.1, 100.2, 100.3, 100.4] or all(
        abs(a - b) < 1e-9 for a, b in zip(starts, [100.0, 100.1, 100.2, 100.3, 100.4], strict=True))


def test_tokens_per_minute_and_throttle() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=None, tpm=6000, clock=clock, sleep=clock.sleep)  # 100 tokens/s
    assert limiter.reserve(200) == 100.0
    assert abs(limiter.reserve(100) - 102.0) < 1e-9
    limiter = RateLimiter(rpm=60, tpm=None, clock=clock, sleep=clock.sleep)
    limiter.reserve()
    limiter.throttled(retry_after=5)
    assert limiter.slow == 1.25
    assert limiter.reserve() >= clock.now + 5
    for _ in range(50):
        limiter.succeeded()
    assert limiter.slow == 1.0
