"""Rendering canonical messages for a target: chain of thought, and text-only content.

Chain of thought (an assistant turn's ``reasoning``) is rendered by the output option ``cot``:

* ``think_tags`` (default): ``<think>\\n{reasoning}\\n</think>\\n\\n{answer}`` in the content, the form
  reasoning models (DeepSeek-R1, Qwen3) are trained on and that datamill's readers split back;
* ``field``: a separate message field (``reasoning_content`` by default, what OpenAI-compatible
  servers and Qwen3's chat template use);
* ``drop``: removed; an answer that was all reasoning (``content`` empty, e.g. LIMO) then becomes empty
  and the record is refused by validation (``empty_assistant_turn``).
"""

from __future__ import annotations

from typing import Literal

from datamill.records import Message
from datamill.steps.base import Drop

CotMode = Literal["think_tags", "field", "drop"]


def think_block(reasoning: str, answer: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


def render_message(message: Message, cot: CotMode, field: str = "reasoning_content") -> Message | Drop:
    """A copy of ``message`` with text content and its reasoning rendered; Drop for non-text content."""
    content = message.get("content")
    if content is None:
        content = ""
    if not isinstance(content, str):
        return Drop("non_text_content", {"role": message.get("role")})
    out: Message = {k: v for k, v in message.items() if k != "reasoning"}
    out["content"] = content
    reasoning = message.get("reasoning")
    if reasoning and message.get("role") == "assistant":
        if cot == "think_tags":
            out["content"] = think_block(reasoning, content)
        elif cot == "field":
            out[field] = reasoning
    return out


def render_messages(messages: list[Message], cot: CotMode, field: str = "reasoning_content") -> list[Message] | Drop:
    out: list[Message] = []
    for message in messages:
        rendered = render_message(message, cot, field)
        if isinstance(rendered, Drop):
            return rendered
        out.append(rendered)
    return out
