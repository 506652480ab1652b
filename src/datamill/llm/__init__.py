"""The LLM layer: configuration, providers, rate limits, cache, structured output, batch files.

Steps build requests and parse answers; :class:`datamill.llm.client.LLMClient` does concurrency,
rate limits, caching, retries and the budget. Nothing here imports ``openai`` or ``boto3`` until a
provider is built.
"""
