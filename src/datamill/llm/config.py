"""LLM configuration: a recipe's ``llm:`` block and each LLM step's ``llm`` param (merged, step wins)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from datamill.steps.base import Params

ProviderName = Literal["openai", "bedrock", "bedrock-batch", "openai-batch"]
#: How a JSON schema is sent: not at all, OpenAI's ``json_schema`` form, llama.cpp's
#: ``{"type": "json_object", "schema": ...}`` form, or plain ``json_object`` (no schema).
ResponseFormatMode = Literal["none", "json_object", "json_object_schema", "json_schema"]


class Budget(Params):
    """A hard stop: once reached, no further calls are sent and the remaining records are dropped."""

    max_calls: int | None = Field(default=None, ge=0, description="paid calls (cache hits are free)")
    max_tokens: int | None = Field(default=None, ge=0, description="input + output tokens of paid calls")
    max_cost: float | None = Field(default=None, ge=0, description="in the currency of the prices below")
    price_input_per_1k: float = Field(default=0.0, ge=0, description="price of 1,000 input tokens")
    price_output_per_1k: float = Field(default=0.0, ge=0, description="price of 1,000 output tokens")


class LLMConfig(Params):
    """Which model, where, and how fast. Keys come from the environment (``api_key_env``), never the recipe."""

    provider: ProviderName = Field(default="openai", description="openai (any compatible server), bedrock, "
                                   "bedrock-batch or openai-batch (offline batch files)")
    model: str | None = Field(default=None, description="model name or Bedrock model id")
    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key "
                                    "(default OPENAI_API_KEY for openai; AWS uses its own chain)")
    region: str | None = Field(default=None, description="AWS region for Bedrock (default: AWS config)")
    rpm: float | None = Field(default=None, gt=0, description="requests per minute; requests are spaced evenly")
    tpm: float | None = Field(default=None, gt=0, description="tokens (in + out) per minute")
    max_tokens: int = Field(default=1024, ge=1, description="answer length limit per call")
    temperature: float = Field(default=0.0, ge=0, le=2, description="0 for judges and labels (repeatable)")
    concurrency: int | None = Field(default=None, ge=1, le=512, description="calls in flight; default: "
                                    "rate x 8 s of latency (at least 1, at most 64), or 4 without rpm")
    timeout_s: float = Field(default=120.0, gt=0, description="per call; a timeout is retried")
    max_retries: int = Field(default=8, ge=0, description="retries of one call on 429/5xx/timeouts")
    response_format: ResponseFormatMode = Field(
        default="json_object_schema",
        description="how a step's JSON schema is sent: json_object_schema (llama.cpp server), json_schema "
                    "(OpenAI structured outputs), json_object, or none (schema in the prompt only)")
    budget: Budget = Field(default_factory=Budget, description="hard limits on calls, tokens and cost")
    batch_output: list[str] = Field(default_factory=list, description="batch providers: result files "
                                    "(Bedrock *.jsonl.out, OpenAI batch output) joined on record id")
    batch_format: Literal["anthropic", "converse"] = Field(
        default="anthropic", description="bedrock-batch: modelInput body (Anthropic messages or Converse)")

    @model_validator(mode="after")
    def _key_is_a_name(self) -> LLMConfig:
        if self.api_key_env is not None and not self.api_key_env.replace("_", "").isalnum():
            raise ValueError("api_key_env is the NAME of an environment variable, not the key itself")
        return self

    @property
    def is_batch(self) -> bool:
        return self.provider.endswith("-batch")

    def effective_concurrency(self) -> int:
        if self.concurrency is not None:
            return self.concurrency
        if self.rpm is None:
            return 4
        return max(1, min(64, round(self.rpm / 60 * 8)))
