"""AWS Bedrock through boto3's Converse API (one shape for every Bedrock chat model).

Credentials and region come from the AWS chain (environment, profile, instance role), never the
recipe. Throttling and transient service errors are retried by the client, with botocore's own
retries off so the shared rate limiter sees every throttle.
"""

from __future__ import annotations

from typing import Any

from datamill.errors import require
from datamill.llm.config import LLMConfig
from datamill.llm.errors import LLMCallError
from datamill.llm.request import ChatRequest, ChatResult

THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException"})
TRANSIENT_CODES = frozenset({"ServiceUnavailableException", "InternalServerException", "ModelTimeoutException",
                             "ModelNotReadyException"})


def converse_messages(request: ChatRequest) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Chat messages -> (Converse ``messages``, ``system`` blocks)."""
    system = [{"text": m["content"]} for m in request.messages if m["role"] == "system"]
    messages = [{"role": m["role"], "content": [{"text": m["content"]}]}
                for m in request.messages if m["role"] in ("user", "assistant")]
    return messages, system


def converse_text(response: dict[str, Any]) -> str:
    blocks = response.get("output", {}).get("message", {}).get("content", [])
    return "".join(b.get("text", "") for b in blocks if isinstance(b, dict))


class BedrockProvider:
    def __init__(self, config: LLMConfig, client: Any = None) -> None:
        self.config = config
        if client is None:
            boto3: Any = require("boto3", "llm", "the 'bedrock' LLM provider")
            botocore_config: Any = require("botocore.config", "llm", "the 'bedrock' LLM provider")
            cfg = botocore_config.Config(retries={"max_attempts": 1, "mode": "standard"},
                                         read_timeout=config.timeout_s)
            client = boto3.client("bedrock-runtime", region_name=config.region, config=cfg)
        self.client = client

    def complete(self, request: ChatRequest) -> ChatResult:
        messages, system = converse_messages(request)
        kwargs: dict[str, Any] = {"modelId": request.model, "messages": messages,
                                  "inferenceConfig": {"maxTokens": request.max_tokens,
                                                      "temperature": request.temperature}}
        if system:
            kwargs["system"] = system
        try:
            response = self.client.converse(**kwargs)
        except Exception as exc:
            raise self._classify(exc) from exc
        usage = response.get("usage", {})
        raw = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        return ChatResult(key=request.key(), text=converse_text(response),
                          input_tokens=int(usage.get("inputTokens", 0)),
                          output_tokens=int(usage.get("outputTokens", 0)),
                          raw=raw)

    @staticmethod
    def _classify(exc: Exception) -> LLMCallError:
        response = getattr(exc, "response", None)
        if not isinstance(response, dict):
            name = type(exc).__name__
            retryable = "Timeout" in name or "Connection" in name
            return LLMCallError("timeout" if "Timeout" in name else "connection" if retryable else name, str(exc),
                                retryable=retryable)
        code = response.get("Error", {}).get("Code", "")
        if code in THROTTLE_CODES:
            return LLMCallError("429", str(exc), retryable=True)
        if code in TRANSIENT_CODES:
            return LLMCallError("5xx", str(exc), retryable=True)
        return LLMCallError(code or "error", str(exc), retryable=False)
