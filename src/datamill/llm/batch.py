"""Offline batch files: write Bedrock / OpenAI batch input, read their outputs joined on the record id.

* Bedrock batch input: one ``{"recordId", "modelInput"}`` per line; ``modelInput`` is the model's own
  request body (Anthropic messages, or Converse-style for Nova). Output (``*.jsonl.out``): the same
  line plus ``modelOutput`` or ``error``.
* OpenAI batch input: ``{"custom_id", "method", "url", "body"}``; output: ``{"custom_id", "response":
  {"status_code", "body"}, "error"}``.

The record id is the request's cache key, so results are matched by id, never by line order, and a
result file from any earlier submission can be read back at any time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from datamill.llm.request import ChatRequest

ANTHROPIC_VERSION = "bedrock-2023-05-31"


def bedrock_model_input(request: ChatRequest, batch_format: str) -> dict[str, Any]:
    system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
    turns = [m for m in request.messages if m["role"] in ("user", "assistant")]
    if batch_format == "converse":
        body: dict[str, Any] = {
            "messages": [{"role": m["role"], "content": [{"text": m["content"]}]} for m in turns],
            "inferenceConfig": {"maxTokens": request.max_tokens, "temperature": request.temperature},
        }
        if system:
            body["system"] = [{"text": system}]
        return body
    body = {"anthropic_version": ANTHROPIC_VERSION, "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "messages": [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]} for m in turns]}
    if system:
        body["system"] = system
    return body


def input_line(request: ChatRequest, provider: str, batch_format: str = "anthropic") -> dict[str, Any]:
    """One line of a batch input file for ``provider`` (``bedrock-batch`` or ``openai-batch``)."""
    if provider == "bedrock-batch":
        return {"recordId": request.key(), "modelInput": bedrock_model_input(request, batch_format)}
    return {"custom_id": request.key(), "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": request.model, "messages": request.messages, "max_tokens": request.max_tokens,
                     "temperature": request.temperature}}


def write_input(path: str, requests: Iterable[ChatRequest], provider: str, batch_format: str = "anthropic") -> int:
    """Write a batch input file (local path or URL); returns the number of lines."""
    import fsspec

    n = 0
    with fsspec.open(path, "wb") as fh:
        for request in requests:
            fh.write(orjson.dumps(input_line(request, provider, batch_format)) + b"\n")
            n += 1
    return n


@dataclass
class BatchResult:
    """One output line: the answer text, or the error the provider reported for that record."""

    record_id: str
    text: str | None
    error: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    model_input: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def model_output_text(output: Any) -> str | None:
    """The answer text of a Bedrock ``modelOutput`` in any of the common model shapes."""
    if not isinstance(output, dict):
        return None
    content = output.get("content")  # Anthropic
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type", "text") == "text")
    message = output.get("output", {}).get("message") if isinstance(output.get("output"), dict) else None
    if isinstance(message, dict):  # Converse / Nova
        return "".join(b.get("text", "") for b in message.get("content", []) if isinstance(b, dict))
    choices = output.get("choices")  # OpenAI-style bodies (also Bedrock's OpenAI models)
    if isinstance(choices, list) and choices:
        msg = choices[0].get("message") or {}
        return str(msg.get("content") or choices[0].get("text") or "")
    if isinstance(output.get("generation"), str):  # Llama
        return str(output["generation"])
    outputs = output.get("outputs")  # Mistral
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict):
        return str(outputs[0].get("text", ""))
    return None


def _usage(output: dict[str, Any]) -> tuple[int, int]:
    usage = output.get("usage") or {}
    i = usage.get("input_tokens", usage.get("inputTokens", usage.get("prompt_tokens", 0)))
    o = usage.get("output_tokens", usage.get("outputTokens", usage.get("completion_tokens", 0)))
    return int(i or 0), int(o or 0)


def parse_line(row: dict[str, Any]) -> BatchResult | None:
    """A Bedrock or OpenAI batch output row -> :class:`BatchResult`; None for rows without an id."""
    if "recordId" in row:
        rid = str(row["recordId"])
        err = row.get("error")
        output = row.get("modelOutput")
        text = None if err else model_output_text(output)
        if err or text is None:
            message = err.get("errorMessage") or err.get("errorCode") if isinstance(err, dict) else err
            return BatchResult(rid, None, str(message or "no modelOutput"), model_input=row.get("modelInput") or {},
                               raw=row)
        i, o = _usage(output) if isinstance(output, dict) else (0, 0)
        return BatchResult(rid, text, None, i, o, row.get("modelInput") or {},
                           raw=output if isinstance(output, dict) else {})
    if "custom_id" in row:
        rid = str(row["custom_id"])
        response = row.get("response") or {}
        body = response.get("body") or {}
        if row.get("error") or int(response.get("status_code", 0) or 0) != 200:
            err = row.get("error") or body.get("error") or f"status {response.get('status_code')}"
            message = err.get("message") if isinstance(err, dict) else err
            return BatchResult(rid, None, str(message), raw=row)
        i, o = _usage(body)
        return BatchResult(rid, model_output_text(body) or "", None, i, o, raw=body)
    return None


def read_output(path: str) -> Iterator[BatchResult]:
    """Read one batch output file (local path or URL, JSON Lines whatever its extension)."""
    import fsspec

    with fsspec.open(path, "rb") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            result = parse_line(orjson.loads(line))
            if result is not None:
                yield result


def expand(paths: Iterable[str]) -> list[str]:
    """Globs (local or URL) -> sorted file list."""
    import fsspec

    files: list[str] = []
    for pattern in paths:
        fs, _, found = fsspec.get_fs_token_paths(pattern)
        protocol = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
        prefix = "" if protocol in ("file", "local") else f"{protocol}://"
        files.extend(prefix + p for p in found)
    return sorted(set(files))
