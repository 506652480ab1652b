"""Format adapters by name, record-format detection, and LLaMA-Factory ``dataset_info.json`` entries.

Detection scores every adapter on a sample of rows (the mean of ``score(row)``; a row that is not an object
scores 0) and picks the best. It refuses to guess when the best scores under :data:`MIN_CONFIDENCE`, or when
another format scores within :data:`AMBIGUITY_MARGIN` of it and neither is more specific
(``FormatAdapter.specificity``: canonical > alpaca, sharegpt, openai, firefly and the preference formats
helpsteer, arena, hh, traces, ranked, pairwise > text > qa > raw). A recipe's ``fields`` mapping narrows the candidates
to the formats it speaks of: ``text`` alone -> text, ``messages`` -> the conversation formats, anything else
-> qa.
"""

from __future__ import annotations

import difflib
import shlex
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from datamill.errors import FormatDetectionError, RecipeError
from datamill.formats.alpaca import AlpacaAdapter
from datamill.formats.arena import ArenaAdapter
from datamill.formats.base import AdapterConfig, Detection, FormatAdapter
from datamill.formats.canonical import CanonicalAdapter
from datamill.formats.fields import normalize_fields, type_name
from datamill.formats.firefly import FireflyAdapter
from datamill.formats.helpsteer import HelpsteerAdapter
from datamill.formats.hh import HhAdapter
from datamill.formats.openai import OpenaiAdapter
from datamill.formats.pairwise import PairwiseAdapter
from datamill.formats.qa import QaAdapter, suggest_pair
from datamill.formats.ranked import RankedAdapter
from datamill.formats.raw import RawAdapter
from datamill.formats.sharegpt import SharegptAdapter
from datamill.formats.text import TextAdapter
from datamill.formats.traces import TracesAdapter

#: Every built-in adapter, most specific first.
ADAPTERS: tuple[type[FormatAdapter], ...] = (
    CanonicalAdapter,
    AlpacaAdapter,
    SharegptAdapter,
    OpenaiAdapter,
    FireflyAdapter,
    HelpsteerAdapter,
    ArenaAdapter,
    HhAdapter,
    TracesAdapter,
    RankedAdapter,
    PairwiseAdapter,
    TextAdapter,
    QaAdapter,
    RawAdapter,
)
_BY_NAME: dict[str, type[FormatAdapter]] = {cls.name: cls for cls in ADAPTERS}

#: Below this mean score detection gives up and asks for ``format:``.
MIN_CONFIDENCE = 0.5
#: Two formats closer than this are ambiguous unless one is more specific.
AMBIGUITY_MARGIN = 0.05

_HINT = (
    "set format: on the input (one of {names}) and, if the columns have other names, "
    "fields: {{prompt: ..., answer: ...}}"
)


def adapter_names() -> list[str]:
    """Names of the built-in record formats, most specific first."""
    return list(_BY_NAME)


def get_adapter(name: str, config: AdapterConfig | None = None) -> FormatAdapter:
    """The adapter called ``name``, configured; an unknown name is a :class:`RecipeError`."""
    cls = _BY_NAME.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, _BY_NAME, n=2)
        hint = f"did you mean {' or '.join(close)}?" if close else None
        raise RecipeError(f"unknown record format '{name}' (known: {', '.join(_BY_NAME)})", hint=hint)
    return cls(config)


def format_options(name: str) -> dict[str, str]:
    """The input options record format ``name`` reads (every format's for ``auto``)."""
    if name != "auto":
        cls = _BY_NAME.get(name)
        return dict(cls.options) if cls is not None else {}
    merged: dict[str, str] = {}
    for cls in ADAPTERS:
        merged.update(cls.options)
    return merged


def _candidates(config: AdapterConfig) -> list[FormatAdapter]:
    parts = set(normalize_fields(config.fields)) - {"id"}
    if not parts:
        classes: Sequence[type[FormatAdapter]] = ADAPTERS
    elif "messages" in parts:
        classes = (SharegptAdapter, OpenaiAdapter)
    elif parts == {"text"}:
        classes = (TextAdapter,)
    else:
        classes = (QaAdapter,)
    adapters: list[FormatAdapter] = []
    errors: list[RecipeError] = []
    for cls in classes:
        try:
            adapters.append(cls(config))
        except RecipeError as exc:  # the mapping names a part this format does not use
            errors.append(exc)
    if not adapters:
        raise errors[0]
    return adapters


def _mean_score(adapter: FormatAdapter, rows: Sequence[Any]) -> float:
    total = sum(adapter.score(row) for row in rows if isinstance(row, Mapping))
    return total / len(rows)


def _listing(names: Sequence[str], scores: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {scores[name]:.2f}" for name in names)


def _columns(rows: Sequence[Any]) -> str:
    """``ask (string), n (number)``: the sample's columns with their types, for error messages."""
    types: dict[str, dict[str, None]] = {}
    for row in rows:
        if isinstance(row, Mapping):
            for key, value in row.items():
                types.setdefault(str(key), {})[type_name(value)] = None
    listed = [f"{key} ({'/'.join(kinds)})" for key, kinds in list(types.items())[:20]]
    return ", ".join(listed) + (f" and {len(types) - 20} more" if len(types) > 20 else "") if listed else "(none)"


def _mapping_hint(rows: Sequence[Any], source: str | None) -> str | None:
    """A ready-to-run ``datamill convert`` command (and its recipe form) mapping the likely prompt and
    answer columns, for a file whose format was not recognised."""
    pair = suggest_pair([r for r in rows if isinstance(r, Mapping)])
    if pair is None:
        return None
    prompt, answer = (shlex.quote(c) for c in pair)
    target = shlex.quote(source) if source else "FILE"
    return (
        f"if it holds prompts and answers, map the columns: datamill convert {target} --format qa "
        f"--field prompt={prompt} --field answer={answer} --to jsonl --out out/ (in a recipe: format: qa, "
        f"fields: {{prompt: {pair[0]}, answer: {pair[1]}}}); other formats: {', '.join(_BY_NAME)}"
    )


def detect_format(rows: Sequence[Any], config: AdapterConfig | None = None, *, source: str | None = None) -> Detection:
    """Decide the record format of a sample of rows, or raise :class:`FormatDetectionError` (naming
    ``source``, the file the rows come from, when given)."""
    config = config or AdapterConfig()
    hint = _HINT.format(names=", ".join(_BY_NAME))
    where = f"{source}: " if source else ""
    if not rows:
        raise FormatDetectionError(f"{where}no rows to detect the record format from", hint=hint)
    adapters = _candidates(config)
    scores = {a.name: round(_mean_score(a, rows), 4) for a in adapters}
    ranked = sorted(adapters, key=lambda a: (scores[a.name], a.specificity), reverse=True)
    best = ranked[0]
    if scores[best.name] < MIN_CONFIDENCE:
        raise FormatDetectionError(
            f"{where}could not recognise the record format of {len(rows)} sampled rows with columns "
            f"{_columns(rows)} (candidates: {_listing([a.name for a in ranked if scores[a.name]], scores) or 'none'})",
            hint=_mapping_hint(rows, source) or hint,
        )
    contenders = [
        a
        for a in ranked
        if scores[a.name] >= MIN_CONFIDENCE and scores[best.name] - scores[a.name] <= AMBIGUITY_MARGIN + 1e-9
    ]
    top = max(a.specificity for a in contenders)
    winners = [a for a in contenders if a.specificity == top]
    if len(winners) > 1:
        raise FormatDetectionError(
            f"{where}ambiguous record format: {_listing([a.name for a in contenders], scores)}", hint=hint
        )
    winner = winners[0]
    used: dict[str, None] = {}
    mappings: Counter[tuple[tuple[str, str], ...]] = Counter()
    for row in rows:
        if isinstance(row, Mapping):
            used.update(dict.fromkeys(winner.fields_used(row)))
            mappings[tuple(winner.mapping(row).items())] += 1
    return Detection(
        format=winner.name,
        confidence=scores[winner.name],
        fields=list(used),
        sampled=len(rows),
        candidates={a.name: scores[a.name] for a in ranked},
        mapping=dict(mappings.most_common(1)[0][0]) if mappings else {},
    )


def adapter_for_hint(hint: Mapping[str, Any]) -> FormatAdapter:
    """The adapter for a LLaMA-Factory ``dataset_info.json`` entry, configured with its columns and tags.

    ``formatting`` alpaca (the default), sharegpt or openai; ``columns`` and ``tags`` are passed on as
    options. An alpaca entry whose only column is ``prompt`` (``c4_demo``, ``wiki_demo``) is
    pretraining text, read by the ``text`` adapter from that column.
    """
    if not isinstance(hint, Mapping):
        raise RecipeError("a dataset_info.json entry must be an object")
    columns = hint.get("columns") or {}
    tags = hint.get("tags") or {}
    if not isinstance(columns, Mapping) or not isinstance(tags, Mapping):
        raise RecipeError("dataset_info.json: 'columns' and 'tags' must be objects")
    formatting = hint.get("formatting") or "alpaca"
    options = {"columns": dict(columns), "tags": dict(tags)}
    if formatting == "alpaca":
        if set(columns) == {"prompt"} and not hint.get("ranking"):
            return TextAdapter(AdapterConfig(fields={"text": columns["prompt"]}))
        return AlpacaAdapter(AdapterConfig(options=options))
    if formatting == "sharegpt":
        return SharegptAdapter(AdapterConfig(options=options))
    if formatting == "openai":
        return OpenaiAdapter(AdapterConfig(options=options))
    raise RecipeError(
        f"dataset_info.json: unknown formatting '{formatting}' (known: alpaca, sharegpt, openai)"
    )
