"""Answers for every item, from the answer cache first, then from the model; each answer is committed to
the cache the moment it exists, so a killed evaluation resumes with what it has.

Both ways of generating go through the LLM layer's request and cache (``OUT/cache/llm.sqlite``, keyed by a
hash of model, messages and settings):

* an OpenAI-compatible **endpoint** (vLLM, llama.cpp server, OpenAI): :class:`~datamill.llm.client.LLMClient`
  with its rate limit, retries and budget, at temperature 0;
* a **local** Hugging Face model (+ adapter): batches of prompts sorted by length, greedy. The model is
  loaded only when some answer is missing, so re-reading a finished evaluation costs nothing.

The request's model name is the weights' identity (:func:`datamill.evaluate.local.model_identity`) for a
local model, and the endpoint's model name plus its URL for an endpoint: a different server, adapter or
generation setting never reuses an answer.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datamill.evaluate.data import EvalItem
from datamill.evaluate.spec import EvalSpec, Generation
from datamill.llm.cache import LLMCache
from datamill.llm.progress import CallProgress
from datamill.llm.request import ChatRequest, ChatResult

LOG = logging.getLogger("datamill.evaluate")
#: endpoint requests per ``LLMClient.run`` call (progress lines and answers stored as they come)
ENDPOINT_CHUNK = 64


@dataclass
class Answers:
    """The answer (or error) of each item, in item order, and where they came from."""

    results: list[ChatResult]
    model: str
    cached: int
    new: int

    def finish_reason(self, i: int) -> str | None:
        raw = self.results[i].raw or {}
        if "finish_reason" in raw:
            return str(raw["finish_reason"])
        choices = raw.get("choices") or []
        return str(choices[0].get("finish_reason")) if choices and choices[0].get("finish_reason") else None


def item_messages(item: EvalItem, gen: Generation) -> list[dict[str, str]]:
    if gen.system and not (item.messages and item.messages[0]["role"] == "system"):
        return [{"role": "system", "content": gen.system}, *item.messages]
    return item.messages


def _nonce(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def requests_for(items: Sequence[EvalItem], model_name: str, gen: Generation, nonce: str) -> list[ChatRequest]:
    return [ChatRequest(messages=item_messages(item, gen), model=model_name, max_tokens=gen.max_new_tokens,
                        temperature=0.0, nonce=nonce) for item in items]


def generate(items: Sequence[EvalItem], spec: EvalSpec, cache_path: Path) -> Answers:
    """Every item's answer, by the endpoint or the local model of ``spec``."""
    if spec.endpoint is not None:
        return _endpoint(items, spec, cache_path)
    return _local(items, spec, cache_path)


def _endpoint(items: Sequence[EvalItem], spec: EvalSpec, cache_path: Path) -> Answers:
    from datamill.llm.client import LLMClient
    from datamill.llm.errors import LLMConfigError

    assert spec.endpoint is not None
    gen = spec.generation
    config = spec.endpoint.model_copy(update={"max_tokens": gen.max_new_tokens, "temperature": 0.0})
    if config.is_batch:
        raise LLMConfigError("evaluation needs a live endpoint, not a batch provider",
                             hint="use provider: openai (any compatible server) or bedrock")
    if not config.model:
        raise LLMConfigError("the endpoint has no model name", hint="give --model NAME with --base-url")
    requests = requests_for(items, config.model, gen, _nonce("endpoint", config.provider, config.base_url))
    client = LLMClient(config, LLMCache(cache_path), label="eval")
    try:
        cached = sum(client.cache.get(r.key()) is not None for r in requests)
        results: list[ChatResult] = []
        for start in range(0, len(requests), ENDPOINT_CHUNK):
            results.extend(client.run(requests[start:start + ENDPOINT_CHUNK]))
    finally:
        client.close()
    return Answers(results, config.model, cached, len(requests) - cached)


def _local(items: Sequence[EvalItem], spec: EvalSpec, cache_path: Path) -> Answers:
    from datamill.evaluate.local import LocalModel, model_identity

    assert spec.model is not None
    gen = spec.generation
    identity = model_identity(spec.model, spec.adapter)
    requests = requests_for(items, identity, gen, _nonce("local", gen.chat_template))
    cache = LLMCache(cache_path)
    progress = CallProgress("eval")
    try:
        results: dict[str, ChatResult] = {}
        todo: dict[str, ChatRequest] = {}
        for request in requests:
            key = request.key()
            hit = cache.get(key)
            if hit is not None:
                results[key] = hit
            elif key not in todo:
                todo[key] = request
        progress.add_total(len(todo) + len(results), len(results))
        if todo:
            LOG.info("eval: loading %s%s for %d answers (%d cached)", spec.model,
                     f" + {spec.adapter}" if spec.adapter else "", len(todo), len(results))
            model = LocalModel.load(spec.model, spec.adapter, device=gen.device)
            encoded = {k: model.encode([model.prompt_text(r.messages, gen.chat_template)], gen.chat_template)[0]
                       for k, r in todo.items()}
            order = sorted(todo, key=lambda k: (-len(encoded[k]), k))
            for start in range(0, len(order), gen.batch_size):
                keys = order[start:start + gen.batch_size]
                for key, out in zip(keys, model.generate([encoded[k] for k in keys], gen.max_new_tokens),
                                    strict=True):
                    result = ChatResult(key=key, text=out.text, input_tokens=out.input_tokens,
                                        output_tokens=out.output_tokens, raw={"finish_reason": out.finish_reason})
                    cache.put(todo[key], result)
                    results[key] = result
                    progress.finished(out.input_tokens, out.output_tokens, paid=True)
        progress.maybe_log(force=True)
    finally:
        cache.close()
    cached = len(requests) - len(todo)
    return Answers([results[r.key()] for r in requests], identity, cached, len(todo))
