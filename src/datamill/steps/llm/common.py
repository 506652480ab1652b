"""What every LLM row step shares: the ``llm`` param, the client (cache in the work directory), prompt
rendering, and the ask -> parse -> re-ask loop for malformed answers.

A subclass says how to build the messages of a record (``messages``), which JSON schema the answer
follows (``answer_schema``) and what to do with a valid answer (``accept``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from datamill.llm.cache import LLMCache
from datamill.llm.client import LLMClient
from datamill.llm.config import LLMConfig
from datamill.llm.request import ChatRequest, Messages
from datamill.llm.structured import parse_answer, retry_message
from datamill.records import Record, answer_text, prompt_text
from datamill.selectors import Name, read_value
from datamill.steps.base import Drop, Params, RowStep, StepContext

#: the run's LLM answer cache, in its cache folder
CACHE_FILE = "llm.sqlite"
#: error kinds of the client -> drop reasons
DROP_REASONS = {"budget": "llm_budget", "batch_pending": "llm_batch_pending", "batch_failed": "llm_batch_pending"}


class LLMStepParams(Params):
    llm: LLMConfig = Field(default_factory=LLMConfig, description="model, endpoint, rate and budget; the "
                           "recipe's top-level llm: block is merged in (this step's keys win)")
    max_parse_retries: int = Field(default=2, ge=0, le=5, description="re-asks after a malformed answer "
                                   "(the model sees its answer and the error); then the record is dropped")
    fields: dict[str, Name] = Field(default_factory=dict, description="template variables read from record "
                                    "parts or field paths, e.g. {source: meta.src, translation: meta.mt}")
    vars: dict[str, Any] = Field(default_factory=dict, description="constants for the template (vars.NAME)")


def open_cache(cache_dir: Path | None) -> LLMCache:
    """The LLM answer cache in a run's cache folder (in memory for None)."""
    return LLMCache(None if cache_dir is None else cache_dir / CACHE_FILE)


def make_client(config: LLMConfig, context: StepContext | None, label: str) -> LLMClient:
    """A client whose cache is ``llm.sqlite`` in the run's cache folder (in memory outside a run); with the
    executor's shared services, its limiter and cache are the cluster's."""
    if context is None:
        return LLMClient(config, open_cache(None), label=label)
    services = context.services
    if services is not None:  # every worker of the cluster: one limit per endpoint and model, one cache
        name = f"{config.provider}:{config.base_url or ''}:{config.model or ''}"
        return LLMClient(config, services.llm_cache(context.cache_dir / CACHE_FILE), label=label,
                         batch_dir=context.batch_dir, limiter=services.rate_limiter(name, config.rpm, config.tpm))
    return LLMClient(config, open_cache(context.cache_dir), label=label, batch_dir=context.batch_dir)


def template_context(record: Record, params: LLMStepParams) -> dict[str, Any]:
    ctx: dict[str, Any] = {"record": record, "prompt": prompt_text(record), "answer": answer_text(record),
                           "meta": record.get("meta") or {}, "vars": params.vars}
    for name, path in params.fields.items():
        value = read_value(record, path)
        ctx[name] = "" if value is None else value
    return ctx


class LLMRowStep(RowStep[Any]):
    """Base of the LLM row steps (no ``name``: not a step itself).

    Every LLM step takes ``llm`` (provider, model, endpoint, rate, budget; the recipe's ``llm:`` block
    merged in), ``max_parse_retries`` (re-asks after a malformed answer, then the record is dropped),
    ``fields`` (template variables read from parts or field paths) and ``vars`` (constants for the
    template).
    """

    shared_limits: ClassVar[bool] = True
    batch_size: ClassVar[int | None] = 2048
    client: LLMClient | None = None

    def setup(self) -> None:
        params: LLMStepParams = self.params
        self.prepare()
        self.client = make_client(params.llm, self.context, self.name)

    def teardown(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def prepare(self) -> None:
        """Load what :meth:`messages` needs (templates), without a client: ``datamill plan`` renders
        prompts this way to look them up in the cache."""

    def messages(self, record: Record) -> Messages:
        raise NotImplementedError

    def answer_schema(self) -> dict[str, Any] | None:
        return None

    def precheck(self, record: Record) -> Drop | None:
        """A record that must not be sent at all (nothing to judge or label): its drop, decided before any
        call, so it costs nothing. ``None`` sends it."""
        return None

    def check(self, record: Record, value: dict[str, Any]) -> str | None:
        """A problem with a well-formed answer that the model can fix when re-asked (an issue quoting words
        the text does not hold), said in a few words for the re-ask; ``None`` when there is none. On the
        last round the answer goes to :meth:`accept` as it is, which must cope (discard, count or drop)."""
        return None

    def accept(self, record: Record, value: dict[str, Any], text: str) -> Record | Drop:
        raise NotImplementedError

    def _note_calls(self, before: dict[str, Any], started: float) -> None:
        """Count this batch's calls, tokens and errors into the stage's notes (``stats.json``; the build
        report's LLM section); ``llm_live_ms`` is the time of batches that made paid calls (for the
        achieved rate)."""
        assert self.client is not None
        after = self.client.progress.snapshot()
        for key in ("paid", "cached", "attempts", "input_tokens", "output_tokens"):
            self.note(f"llm_{key}", after[key] - before[key])
        for kind, n in after["errors"].items():
            self.note(f"llm_error:{kind}", n - before["errors"].get(kind, 0))
        if after["attempts"] > before["attempts"]:
            self.note("llm_live_ms", int((time.monotonic() - started) * 1000))

    def request(self, messages: Messages) -> ChatRequest:
        cfg: LLMConfig = self.params.llm
        return ChatRequest(messages=messages, model=cfg.model or "", max_tokens=cfg.max_tokens,
                           temperature=cfg.temperature, schema=self.answer_schema())

    def process(self, record: Record) -> Record | Drop:
        return self.process_batch([record])[0]

    def process_batch(self, records: Sequence[Record]) -> list[Record | Drop]:
        if self.client is None:
            self.setup()
        assert self.client is not None
        schema = self.answer_schema()
        before, started = self.client.progress.snapshot(), time.monotonic()
        out: list[Record | Drop | None] = [self.precheck(r) for r in records]
        todo = [i for i, r in enumerate(out) if r is None]
        convos: dict[int, Messages] = {i: self.messages(records[i]) for i in todo}
        max_retries: int = self.params.max_parse_retries
        for round_ in range(max_retries + 1):
            if not todo:
                break
            results = self.client.run([self.request(convos[i]) for i in todo])
            again = []
            for i, res in zip(todo, results, strict=True):
                if not res.ok:
                    reason = DROP_REASONS.get(res.error or "", "llm_error")
                    out[i] = Drop(reason, {"kind": res.error, "detail": res.detail})
                    continue
                text = res.text or ""
                parsed = parse_answer(text, schema)
                problem = self.check(records[i], parsed.value) if parsed.error is None else None
                if parsed.error is None and (problem is None or round_ >= max_retries):
                    out[i] = self.accept(records[i], parsed.value, text)
                elif round_ < max_retries:
                    convos[i] = [*convos[i], {"role": "assistant", "content": text},
                                 {"role": "user", "content": retry_message(parsed.error or problem or "")}]
                    again.append(i)
                else:
                    out[i] = Drop("llm_invalid_output", {"error": parsed.error, "raw": text})
            todo = again
        self._note_calls(before, started)
        return [r if r is not None else Drop("llm_invalid_output") for r in out]
