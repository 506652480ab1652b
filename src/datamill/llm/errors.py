"""Provider errors, classified so the client knows what to retry and how long to wait."""

from __future__ import annotations

from datamill.errors import DatamillError


class LLMCallError(Exception):
    """A call failed. ``kind`` is a short stable key (``429``, ``5xx``, ``timeout``, ``connection``, ``4xx``)."""

    def __init__(self, kind: str, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after


class LLMConfigError(DatamillError):
    """The LLM configuration cannot work (no model, unknown provider, missing key)."""

    exit_code = 2


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent/unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
