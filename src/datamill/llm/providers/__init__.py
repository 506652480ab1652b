"""Providers: one module per API. :func:`build_provider` imports the SDK only when it is needed."""

from __future__ import annotations

from datamill.llm.config import LLMConfig
from datamill.llm.errors import LLMConfigError
from datamill.llm.providers.base import Provider


def build_provider(config: LLMConfig) -> Provider:
    if config.model is None:
        raise LLMConfigError("the LLM configuration has no 'model'", hint="set llm.model in the recipe")
    if config.provider == "openai":
        from datamill.llm.providers.openai_compat import OpenAIProvider

        return OpenAIProvider(config)
    if config.provider == "bedrock":
        from datamill.llm.providers.bedrock import BedrockProvider

        return BedrockProvider(config)
    raise LLMConfigError(f"provider '{config.provider}' does not answer live calls",
                         hint="batch providers write input files and read output files")
