"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp server) through the official SDK.

The SDK's own retries are off (``max_retries=0``): the client retries with the shared rate limiter,
so a 429 slows every thread, not only the one that got it. The API key is read from the environment
variable named by ``api_key_env`` and never logged or stored.
"""

from __future__ import annotations

import os
from typing import Any

from datamill.errors import require
from datamill.llm.config import LLMConfig
from datamill.llm.errors import LLMCallError, parse_retry_after
from datamill.llm.request import ChatRequest, ChatResult


def response_format(mode: str, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``response_format`` body for ``mode`` (see :data:`datamill.llm.config.ResponseFormatMode`)."""
    if schema is None or mode == "none":
        return None
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "json_object_schema":  # llama.cpp server
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


class OpenAIProvider:
    def __init__(self, config: LLMConfig) -> None:
        openai: Any = require("openai", "llm", "the 'openai' LLM provider")
        self.openai = openai
        self.config = config
        key = os.environ.get(config.api_key_env or "OPENAI_API_KEY") or "not-needed"
        self.client = openai.OpenAI(base_url=config.base_url, api_key=key, max_retries=0,
                                    timeout=config.timeout_s)

    def complete(self, request: ChatRequest) -> ChatResult:
        kwargs: dict[str, Any] = {"model": request.model, "messages": request.messages,
                                  "max_tokens": request.max_tokens, "temperature": request.temperature}
        fmt = response_format(self.config.response_format, request.schema)
        if fmt is not None:
            kwargs["response_format"] = fmt
        try:
            response = self.client.chat.completions.create(**kwargs)
        except Exception as exc:
            raise self._classify(exc) from exc
        choice = response.choices[0] if response.choices else None
        text = choice.message.content if choice is not None and choice.message is not None else None
        usage = response.usage
        return ChatResult(key=request.key(), text=text or "",
                          input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                          output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                          raw=response.model_dump(mode="json"))

    def _classify(self, exc: Exception) -> LLMCallError:
        o = self.openai
        if isinstance(exc, o.APITimeoutError):
            return LLMCallError("timeout", str(exc), retryable=True)
        if isinstance(exc, o.APIConnectionError):
            return LLMCallError("connection", str(exc), retryable=True)
        if isinstance(exc, o.APIStatusError):
            status = exc.status_code
            retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
            if status == 429:
                return LLMCallError("429", str(exc), retryable=True, retry_after=retry_after)
            if status >= 500:
                return LLMCallError("5xx", str(exc), retryable=True, retry_after=retry_after)
            if status == 408:
                return LLMCallError("timeout", str(exc), retryable=True)
            return LLMCallError(f"http_{status}", str(exc), retryable=False)
        return LLMCallError(type(exc).__name__, str(exc), retryable=False)
