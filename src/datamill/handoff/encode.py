"""Token lengths of a canonical record as a trainer sees them: the model's tokenizer and chat template.

A conversation becomes a list of :class:`Turn` pairs, ``(source, target)`` in tokens, the way
LLaMA-Factory's ``encode_multiturn`` splits it: the source is everything before an assistant answer
(system, tools, the user turn, the assistant header that the template adds), the target the answer
and what the template puts after it (``<|im_end|>\\n``). The split comes from rendering the chat
template on growing prefixes of the conversation: the text of ``messages[:k]`` (with the generation
prompt before an answer) is a prefix of the whole rendering for ordinary templates, so the whole
conversation is tokenized once and the turn boundaries are read from the character offsets. A
template that rewrites earlier turns (e.g. drops old reasoning) is handled by tokenizing each prefix.

:func:`assistant_mask` gives the per-token "is trained" mask that datamill's own TRL training uses
(the answer spans, end-of-turn token included), the masking that SmolLM2's template cannot give TRL
itself (it has no ``{% generation %}`` markers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datamill.records import Message


@dataclass(frozen=True)
class Turn:
    """One prompt/answer pair in tokens; ``eot`` says whether the answer holds the end-of-turn token."""

    source: int
    target: int
    eot: bool


@dataclass
class Encoded:
    """A record in tokens: ``turns`` for conversations, ``chosen``/``rejected`` answer lengths for pairs,
    ``text`` for pretraining. ``total`` is the length of the longest sequence a trainer builds from it."""

    kind: str
    turns: list[Turn]
    chosen: Turn | None = None
    rejected: Turn | None = None
    text: int = 0

    @property
    def total(self) -> int:
        if self.kind == "pretrain":
            return self.text
        prompt = sum(t.source + t.target for t in self.turns)
        if self.chosen is not None and self.rejected is not None:
            return prompt + max(self.chosen.target, self.rejected.target)
        return prompt


def _plain(messages: list[Message]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        msg: dict[str, Any] = {"role": m["role"], "content": m.get("content") or ""}
        if m.get("tool_calls"):
            msg["tool_calls"] = m["tool_calls"]
        if m.get("tool_call_id"):
            msg["tool_call_id"] = m["tool_call_id"]
        out.append(msg)
    return out


class ChatEncoder:
    """Tokenizes canonical records with ``tokenizer``'s chat template (a fast tokenizer)."""

    def __init__(self, tokenizer: Any, eot_token: str | None = None) -> None:
        from datamill.models import end_of_turn_token

        self.tokenizer = tokenizer
        self.eot_token = eot_token or end_of_turn_token(tokenizer)
        self.eot_id = tokenizer.convert_tokens_to_ids(self.eot_token) if self.eot_token else None
        self.has_template = bool(getattr(tokenizer, "chat_template", None))

    # -- rendering ---------------------------------------------------------------------------------
    def render(self, messages: list[Message], generation_prompt: bool = False, tools: Any = None) -> str:
        if not messages:
            return ""
        if not self.has_template:
            text = "".join(f"{m['role']}: {m.get('content') or ''}\n" for m in messages)
            return text + ("assistant: " if generation_prompt else "")
        kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": generation_prompt}
        if tools:
            kwargs["tools"] = tools
        return str(self.tokenizer.apply_chat_template(_plain(messages), **kwargs))

    def ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def boundaries(self, messages: list[Message], tools: Any = None) -> tuple[list[int], list[int]]:
        """The whole conversation's token ids, and the token index where each answer starts and ends:
        ``[start_0, end_0, start_1, end_1, ...]`` (start = after the generation prompt)."""
        cuts: list[str] = []
        for i, m in enumerate(messages):
            if m["role"] == "assistant":
                cuts.append(self.render(messages[:i], generation_prompt=True, tools=tools))
                cuts.append(self.render(messages[: i + 1], tools=tools))
        full = self.render(messages, tools=tools)
        if all(full.startswith(c) for c in cuts) and getattr(self.tokenizer, "is_fast", False):
            enc = self.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
            ids, offsets = list(enc["input_ids"]), enc["offset_mapping"]
            starts = [s for s, _ in offsets]
            points = []
            for c in cuts:
                n = len(c)
                k = next((j for j, s in enumerate(starts) if s >= n), len(ids))
                points.append(k)
            return ids, points
        # a template that rewrites history, or a slow tokenizer (no offsets): tokenize each prefix
        return self.ids(full), [len(self.ids(c)) for c in cuts]

    # -- records -----------------------------------------------------------------------------------
    def turns(self, messages: list[Message], tools: Any = None) -> list[Turn]:
        """``(source, target)`` pairs; text after the last answer (a trailing user turn) is a source with an
        empty target."""
        ids, points = self.boundaries(messages, tools)
        out: list[Turn] = []
        prev = 0
        for k in range(0, len(points), 2):
            start, end = points[k], points[k + 1]
            target = ids[start:end]
            out.append(Turn(start - prev, end - start, self.eot_id is not None and self.eot_id in target))
            prev = end
        if prev < len(ids):
            out.append(Turn(len(ids) - prev, 0, False))
        return out

    def encode(self, record: dict[str, Any]) -> Encoded:
        from datamill.export.shape import record_mode

        mode = record_mode(record)
        if mode == "pretrain":
            text = record.get("text") or ""
            return Encoded("pretrain", [], text=len(self.ids(text)) + 1)  # + eos, as trainers append it
        messages = list(record.get("messages") or [])
        tools = record.get("tools")
        if mode == "preference":
            prompt_c, chosen = self._pair(messages, list(record.get("chosen") or []), tools)
            prompt_r, rejected = self._pair(messages, list(record.get("rejected") or []), tools)
            return Encoded("preference", [Turn(max(prompt_c, prompt_r), 0, False)], chosen=chosen, rejected=rejected)
        return Encoded(mode, self.turns(messages, tools))

    def _pair(self, context: list[Message], answer: list[Message], tools: Any) -> tuple[int, Turn]:
        """The prompt length and the answer of ``context + answer`` (the answer's last assistant turn)."""
        turns = self.turns(context + answer, tools)
        if not turns or turns[-1].target == 0:
            return sum(t.source + t.target for t in turns), Turn(0, 0, False)
        last = turns[-1]
        return sum(t.source + t.target for t in turns) - last.target, Turn(0, last.target, last.eot)

    def assistant_mask(self, messages: list[Message], tools: Any = None) -> tuple[list[int], list[int]]:
        """Token ids of the conversation and a 0/1 mask: 1 on every answer span (end-of-turn included)."""
        ids, points = self.boundaries(messages, tools)
        mask = [0] * len(ids)
        for k in range(0, len(points), 2):
            for j in range(points[k], points[k + 1]):
                mask[j] = 1
        return ids, mask
