"""The canonical record: one plain ``dict`` per example, and the accessors steps use to read it.

Fields (all optional except ``id``):

============  =======================================================================
``id``        stable id: ``<source>:<row>``; never reassigned after ingest
``source``    provenance: the input's name
``source_id`` provenance: where in the input (``file:line`` or the dataset's own key)
``kind``      ``sft``, ``chat``, ``cot``, ``preference``, ``pretrain`` or ``raw``
``messages``  ``[{"role", "content", "reasoning"?, "tool_calls"?, ...}]``; roles system/user/assistant/tool
``chosen``    preference: the preferred continuation (a message list)
``rejected``  preference: the other continuation (a message list)
``tie``       preference: ``True`` when neither continuation is preferred (explicit, never empty strings)
``text``      pretraining text
``tools``     tool/function schemas
``category``  label written by steps; ``tags`` (list), ``lang``, ``scores`` (dict) likewise
``split``     ``train``/``test``/... written by the ``split`` step
``meta``      every original field the format adapter did not map, kept verbatim
============  =======================================================================

Records stay plain dicts in the hot path; they are validated where they enter (format adapters)
and where they leave (exporters). The names recipes use for a record's texts and fields (``prompt``,
``answer``, ``meta.x`` ...) are defined and read by :mod:`datamill.selectors`, and written by
:mod:`datamill.part_writes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Record = dict[str, Any]
Message = dict[str, Any]

KINDS = ("sft", "chat", "cot", "preference", "pretrain", "raw")
ROLES = ("system", "user", "assistant", "tool")
TOP_LEVEL_FIELDS = (
    "id", "source", "source_id", "kind", "messages", "chosen", "rejected", "tie", "text", "tools",
    "category", "tags", "lang", "scores", "split", "meta",
)


def _content_text(content: Any) -> str:
    """Message content as text: strings as they are, multimodal part lists joined by their text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, Mapping):
                value = part.get("text", part.get("value"))
                if isinstance(value, str):
                    texts.append(value)
            elif isinstance(part, str):
                texts.append(part)
        return "\n".join(texts)
    return str(content)


def last_assistant_index(messages: list[Message]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            return i
    return None


def prompt_text(record: Mapping[str, Any]) -> str:
    """The ``prompt`` part as one string (see :mod:`datamill.selectors`)."""
    from datamill.selectors import read_text

    return read_text(record, "prompt")


def answer_text(record: Mapping[str, Any]) -> str:
    """The ``answer`` part as one string (see :mod:`datamill.selectors`)."""
    from datamill.selectors import read_text

    return read_text(record, "answer")


def reasoning_text(record: Mapping[str, Any]) -> str:
    """The ``reasoning`` part as one string (see :mod:`datamill.selectors`)."""
    from datamill.selectors import read_text

    return read_text(record, "reasoning")


def conversation_text(record: Mapping[str, Any]) -> str:
    """Every turn's content, one per line, roles included so that A->B and B->A differ."""
    messages = record.get("messages") or []
    if not messages:
        return str(record.get("text") or "")
    return "\n".join(f"{m.get('role', '')}: {_content_text(m.get('content'))}" for m in messages)


def get_field(record: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Read a dotted field path leniently: like :func:`get_path`, but a bare name that is not a canonical
    field falls back to ``meta.<name>``. For datamill's own readers of known original columns
    (``recordId`` of a batch file); names from a recipe are checked by :mod:`datamill.selectors` and read
    with :func:`get_path`.
    """
    parts = path.split(".")
    if parts[0] not in record and parts[0] not in TOP_LEVEL_FIELDS and isinstance(record.get("meta"), Mapping):
        return get_path(record["meta"], path, default)
    return get_path(record, path, default)


def _index(node: list[Any], key: str) -> int | None:
    """``key`` as a position in ``node`` (``-1`` is the last), or ``None`` when it is not one."""
    if key.lstrip("-").isdigit() and -len(node) <= int(key) < len(node):
        return int(key) % len(node)
    return None


def get_path(record: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Read a dotted field path (``meta.task_type``, ``scores.quality``, ``messages.-1.content``): keys of
    mappings, and integers indexing lists (``-1`` is the last item). ``default`` when any step is absent."""
    node: Any = record
    for key in path.split("."):
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and (i := _index(node, key)) is not None:
            node = node[i]
        else:
            return default
    return node


def _walk_to_parent(record: Record, keys: list[str]) -> Any:
    node: Any = record
    for depth, key in enumerate(keys[:-1]):
        where = ".".join(keys[: depth + 1])
        if isinstance(node, dict):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
        elif isinstance(node, list):
            i = _index(node, key)
            if i is None:
                raise ValueError(f"'{where}': the list has {len(node)} items, there is no item {key}")
            child = node[i]
        else:
            raise ValueError(f"'{'.'.join(keys[:depth])}' is a {type(node).__name__}, not a mapping or list")
        if not isinstance(child, dict | list):
            raise ValueError(f"'{where}' is a {type(child).__name__}, not a mapping or list")
        node = child
    return node


def set_field(record: Record, path: str, value: Any) -> None:
    """Write a dotted field path: mappings are created on the way, integers index existing list items
    (``messages.0.content``). A value in the way that is neither (``text.x`` where ``text`` is a string)
    or an index past the end of a list raises ``ValueError`` instead of overwriting data."""
    keys = path.split(".")
    node = _walk_to_parent(record, keys)
    last = keys[-1]
    if isinstance(node, list):
        i = _index(node, last)
        if i is None:
            raise ValueError(f"'{path}': the list has {len(node)} items, there is no item {last}")
        node[i] = value
    else:
        node[last] = value


def delete_field(record: Record, path: str) -> None:
    """Remove a dotted field path (nothing happens when it is absent). Nothing inside a list is removed
    (a turn would lose its content, or the other items their positions): that raises ``ValueError``."""
    keys = path.split(".")
    node: Any = record
    for depth, key in enumerate(keys[:-1]):
        if isinstance(node, list):
            raise ValueError(f"'{path}' is inside the list '{'.'.join(keys[:depth])}'; nothing inside a list "
                             "is removed (turns would lose their content or their place)")
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, list):
        raise ValueError(f"'{path}' is an item of a list; list items cannot be removed")
    if isinstance(node, dict):
        node.pop(keys[-1], None)
