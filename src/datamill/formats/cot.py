"""Chain of thought: move an assistant turn's reasoning into the message's ``reasoning`` field.

Sources, in the order they are tried:

* a ``reasoning`` already set by the adapter (a ``reasoning_content`` field, a ``thinking`` column,
  a LLaMA-Factory ``{"type": "reasoning"}`` content part);
* ``<think>...</think>`` at the start of the answer (``split_think``, on by default), also the
  DeepSeek-R1 form where the opening tag is missing and the answer holds ``...</think>answer``;
* option ``cot_unsplittable: true``: the whole answer is the reasoning and ``content`` becomes ``""``
  (LIMO, NuminaMath: the solution cannot be split into reasoning and a final answer).

An assistant turn with reasoning and an empty ``content`` is valid: it is such an unsplittable trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datamill.records import Message

#: The input options every adapter that builds conversations reads (through ``finish``).
COT_OPTIONS: dict[str, str] = {
    "split_think": "split a leading <think>...</think> block into the answer's reasoning (default true)",
    "cot_unsplittable": "the whole answer is reasoning (LIMO, NuminaMath): content becomes empty",
}

OPEN = "<think>"
CLOSE = "</think>"


def split_think(text: str) -> tuple[str, str] | None:
    """``(reasoning, answer)`` when ``text`` starts with a think block, else ``None``.

    >>> split_think("<think>2+2 is 4</think>\\n\\nThe answer is 4.")
    ('2+2 is 4', 'The answer is 4.')
    """
    if CLOSE not in text:
        return None
    stripped = text.lstrip()
    if stripped.startswith(OPEN):
        end = stripped.find(CLOSE)
        return stripped[len(OPEN) : end].strip(), stripped[end + len(CLOSE) :].lstrip()
    if OPEN not in text:  # R1 style: the chat template opened the block, the text only closes it
        end = text.find(CLOSE)
        return text[:end].strip(), text[end + len(CLOSE) :].lstrip()
    return None


def apply_cot(message: Message, options: Mapping[str, Any]) -> None:
    """Set ``message["reasoning"]`` from its content as the options say (in place; assistant turns)."""
    content = message.get("content")
    if not isinstance(content, str):
        return
    if options.get("split_think", True) and not message.get("reasoning"):
        parts = split_think(content)
        if parts is not None:
            message["reasoning"], message["content"] = parts
            content = message["content"]
    if options.get("cot_unsplittable", False) and content:
        previous = message.get("reasoning") or ""
        message["reasoning"] = f"{previous}\n{content}" if previous else content
        message["content"] = ""
    if "reasoning" in message and not message["reasoning"]:
        del message["reasoning"]
