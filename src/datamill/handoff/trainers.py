"""What each trainer does to a record at its length limit, and which records it rejects or rewrites.

Each ``*_outcome`` function takes a record in tokens (:class:`~datamill.handoff.encode.Encoded`) and
the canonical record, and returns an :class:`Outcome`: the *truncation* that happens (and how), whether
the answer's end-of-turn token survives (an answer cut before it teaches the model not to stop), and
what the trainer silently *alters* or *rejects*. The rules are read from each trainer's code:

LLaMA-Factory 0.9.5 (``data/processor/supervised.py``, ``processor_utils.infer_seqlen``, ``converter.py``)
  Turn by turn, each ``(source, target)`` pair gets a share of what is left of ``cutoff_len``
  (:func:`infer_seqlen`): a long answer keeps its start and loses its end (``answer_cut``), a long
  prompt is cut (``prompt_cut``), and once the budget is spent the later turns are dropped
  (``turns_dropped``). With ``packing: true`` an example longer than ``cutoff_len`` is dropped
  ("Dropped lengthy example"). Pretraining text (stage ``pt``) is packed by default: concatenated and
  cut into ``cutoff_len`` blocks, so a long text is split, not truncated. KTO examples split the
  whole prompt against the answer. Conversations whose roles do not alternate, or that end on a
  user/tool turn (an even number of turns), are skipped ("Invalid role tag", "Invalid message count").
TRL 0.24 (``SFTConfig.max_length`` 1024, ``DPOConfig``/``KTOConfig`` ``max_length`` 1024 and
``max_prompt_length`` 512 with ``truncation_mode="keep_end"``)
  SFT keeps the start of the sequence (the end of the last answer goes first, packing or not); DPO/KTO
  cut the *start* of a long prompt (the system prompt first), then the end of the answers.
XTuner 0.2 (``openai_map_fn``, ``dataset/utils.encode_fn``)
  ``openai_map_fn`` raises ``NotImplementedError`` on a ``tool`` message (the whole run fails),
  concatenates consecutive user turns with no separator, skips leading assistant turns and drops user
  turns after the last answer; ``encode_fn`` cuts the token sequence at ``max_length`` (default 2048 in
  its configs), keeping the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from datamill.handoff.encode import Encoded, Turn

Backend = Literal["llamafactory", "trl", "xtuner"]
BACKENDS: tuple[Backend, ...] = ("llamafactory", "trl", "xtuner")

#: the limit each trainer applies when none is given (LLaMA-Factory's cutoff_len, TRL's max_length,
#: the max_length of XTuner's shipped configs)
DEFAULT_LIMIT: dict[str, int] = {"llamafactory": 2048, "trl": 1024, "xtuner": 2048}
TRL_MAX_PROMPT = 512


@dataclass
class Outcome:
    """What one trainer does with one record."""

    truncated: list[str] = field(default_factory=list)
    eot_lost: bool = False
    altered: list[str] = field(default_factory=list)
    rejected: str | None = None
    #: tokens that carry loss after truncation (0: the record teaches nothing)
    trained_tokens: int = 0


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """LLaMA-Factory's split of ``cutoff_len`` between a prompt and its answer (same arithmetic as its
    ``infer_seqlen``): a short answer keeps all of itself, a short prompt leaves the rest to the answer,
    otherwise both shrink in proportion to their lengths."""
    if target_len * 2 < cutoff_len:
        max_target = cutoff_len
    elif source_len * 2 < cutoff_len:
        max_target = cutoff_len - source_len
    else:
        max_target = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target = min(max_target, target_len)
    new_source = min(max(cutoff_len - new_target, 0), source_len)
    return new_source, new_target


def llamafactory_kept(turns: list[Turn], cutoff: int) -> list[tuple[int, int]]:
    """The ``(source, target)`` tokens LLaMA-Factory keeps of each turn (fewer pairs: later turns dropped)."""
    total = 0
    kept: list[tuple[int, int]] = []
    for turn in turns:
        if total >= cutoff:
            break
        s, t = infer_seqlen(turn.source, turn.target, cutoff - total)
        kept.append((s, t))
        total += s + t
    return kept


def _roles(record: dict[str, Any]) -> list[str]:
    return [str(m.get("role")) for m in record.get("messages") or []]


def _llamafactory_structure(record: dict[str, Any], out: Outcome) -> None:
    body = _roles(record)
    if body and body[0] == "system":  # a leading system turn goes to the system column
        body = body[1:]
    if "system" in body:
        out.rejected = "system_not_first"
        return
    if record.get("chosen") is not None:  # ranking: the context ends with the user turn
        body = [*body, "assistant"]
    user_like, answer_like = ("user", "tool"), ("assistant",)
    for i, role in enumerate(body):
        if role not in (user_like if i % 2 == 0 else answer_like):
            out.rejected = "invalid_role_order"
            return
    if len(body) % 2 != 0:
        out.rejected = "ends_without_answer"


def llamafactory_outcome(enc: Encoded, record: dict[str, Any], cutoff: int, packing: bool = False) -> Outcome:
    out = Outcome()
    if enc.kind != "pretrain":
        _llamafactory_structure(record, out)
        if out.rejected:
            return out
    if enc.kind == "pretrain":  # stage pt packs by default: texts are concatenated and cut into blocks
        if enc.text > cutoff:
            out.altered.append("text_split_across_blocks")
        out.trained_tokens = enc.text
        return out
    if enc.chosen is not None and enc.rejected is not None:
        prompt = sum(t.source for t in enc.turns)
        answer = max(enc.chosen.target, enc.rejected.target)
        s, t = infer_seqlen(prompt, answer, cutoff)
        if s < prompt:
            out.truncated.append("prompt_cut")
        cut = [a for a in (enc.chosen, enc.rejected) if a.target > t]
        if cut:
            out.truncated.append("answer_cut")
            out.eot_lost = any(a.eot for a in cut)
        out.trained_tokens = t
        return out
    if enc.kind == "kto" and enc.turns:  # the feedback processor splits the whole prompt against the answer
        last = enc.turns[-1]
        prompt = enc.total - last.target
        s, t = infer_seqlen(prompt, last.target, cutoff)
        if s < prompt:
            out.truncated.append("prompt_cut")
        if t < last.target:
            out.truncated.append("answer_cut")
            out.eot_lost = last.eot
        out.trained_tokens = t
        return out
    if packing and enc.total > cutoff:
        out.rejected = "dropped_lengthy_packing"
        return out
    kept = llamafactory_kept(enc.turns, cutoff)
    answers = [t for t in enc.turns if t.target]
    if len(kept) < len(enc.turns) and any(t.target for t in enc.turns[len(kept):]):
        out.truncated.append("turns_dropped")  # not trained at all: no wrong stop is learnt from them
    for (s, t), turn in zip(kept, enc.turns, strict=False):
        if s < turn.source and "prompt_cut" not in out.truncated:
            out.truncated.append("prompt_cut")
        if t < turn.target:
            if "answer_cut" not in out.truncated:
                out.truncated.append("answer_cut")
            out.eot_lost = out.eot_lost or turn.eot
    out.trained_tokens = sum(t for _, t in kept) if answers else 0
    return out


def _keep_start(enc: Encoded, limit: int, out: Outcome) -> None:
    """Cut a sequence at ``limit`` tokens, keeping its start (TRL SFT, XTuner)."""
    position = 0
    trained = 0
    for turn in enc.turns:
        answer_start = position + turn.source
        answer_end = answer_start + turn.target
        if turn.target:
            kept = max(0, min(answer_end, limit) - answer_start)
            trained += kept
            if kept < turn.target:
                if "answer_cut" not in out.truncated:
                    out.truncated.append("answer_cut" if kept else "answer_lost")
                out.eot_lost = out.eot_lost or turn.eot
        elif answer_start > limit and "prompt_cut" not in out.truncated:
            out.truncated.append("prompt_cut")
        position = answer_end
    out.trained_tokens = trained


def trl_outcome(enc: Encoded, record: dict[str, Any], limit: int, max_prompt: int = TRL_MAX_PROMPT) -> Outcome:
    out = Outcome()
    if enc.kind == "pretrain":
        if enc.text > limit:
            out.truncated.append("text_cut")
        out.trained_tokens = min(enc.text, limit)
        return out
    if (enc.chosen is not None and enc.rejected is not None) or enc.kind == "kto":
        if enc.chosen is not None and enc.rejected is not None:
            prompt, answers = sum(t.source for t in enc.turns), [enc.chosen, enc.rejected]
        else:
            prompt = sum(t.source + t.target for t in enc.turns[:-1]) + (enc.turns[-1].source if enc.turns else 0)
            answers = enc.turns[-1:]
        if prompt > max_prompt:
            out.truncated.append("prompt_start_cut")
            prompt = max_prompt
        room = max(0, limit - prompt)
        cut = [a for a in answers if a.target > room]
        if cut:
            out.truncated.append("answer_cut")
            out.eot_lost = any(a.eot for a in cut)
        out.trained_tokens = min(room, max((a.target for a in answers), default=0))
        return out
    _keep_start(enc, limit, out)
    return out


def xtuner_structure(record: dict[str, Any]) -> tuple[str | None, list[str]]:
    """What ``openai_map_fn`` does with the record's messages: ``(rejected reason, altered reasons)``."""
    roles = _roles(record)
    if any(r not in ("system", "user", "assistant") for r in roles):
        return "tool_message_raises", []
    altered: list[str] = []
    i = 0
    while i < len(roles) and roles[i] == "assistant":
        i += 1
    if i:
        altered.append("leading_assistant_dropped")
    body = roles[i:]
    prev = None
    for j, role in enumerate(body):
        if role == "user" and prev == "user" and "user_turns_merged" not in altered:
            altered.append("user_turns_merged")
        if role == "assistant" and prev == "assistant" and "answer_without_input" not in altered:
            altered.append("answer_without_input")
        if role == "system" and j > 0 and "system_moved" not in altered:
            altered.append("system_moved")
        if role != "system":
            prev = role
    if "assistant" in body and body[-1] in ("user", "system"):
        altered.append("trailing_user_dropped")
    if "assistant" not in body:
        return "no_answer", altered
    return None, altered


def xtuner_outcome(enc: Encoded, record: dict[str, Any], limit: int) -> Outcome:
    out = Outcome()
    if enc.kind in ("preference", "kto", "pretrain"):
        out.rejected = f"{enc.kind}_not_read_by_openai_map_fn"
        return out
    rejected, altered = xtuner_structure(record)
    out.altered = altered
    if rejected:
        out.rejected = rejected
        return out
    _keep_start(enc, limit, out)
    return out


def outcome(backend: str, enc: Encoded, record: dict[str, Any], limit: int, *, packing: bool = False) -> Outcome:
    if backend == "llamafactory":
        return llamafactory_outcome(enc, record, limit, packing=packing)
    if backend == "trl":
        return trl_outcome(enc, record, limit)
    if backend == "xtuner":
        return xtuner_outcome(enc, record, limit)
    raise ValueError(f"unknown backend {backend}")
