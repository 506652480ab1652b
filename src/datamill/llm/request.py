"""One chat request and its answer; the cache key is a hash of (model, messages, params)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class ChatRequest:
    """Messages plus the parameters that change the answer (max_tokens, temperature, schema, nonce).

    ``nonce`` tells apart requests that are otherwise identical but must be sampled separately
    (the 3rd synthesis attempt for a category); it is part of the key, never sent.
    """

    messages: Messages
    model: str
    max_tokens: int
    temperature: float
    schema: dict[str, Any] | None = None
    nonce: str | None = None

    def key(self) -> str:
        """128-bit hex hash: the cache key and the batch record id."""
        payload = {"model": self.model, "messages": self.messages, "max_tokens": self.max_tokens,
                   "temperature": self.temperature, "schema": self.schema, "nonce": self.nonce}
        data = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(data).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "messages": self.messages, "max_tokens": self.max_tokens,
                "temperature": self.temperature, "schema": self.schema, "nonce": self.nonce}

    def estimated_tokens(self) -> int:
        """A cheap upper estimate for the tokens/min limiter: ~1 token per 3 characters + the answer cap."""
        chars = sum(len(m.get("content") or "") for m in self.messages)
        return chars // 3 + self.max_tokens


@dataclass
class ChatResult:
    """The answer (``text``) or why there is none (``error`` kind, e.g. ``429``, ``budget``, ``batch_pending``)."""

    key: str
    text: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    error: str | None = None
    detail: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    #: how long the live call took (None: from the cache or a batch file)
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None
