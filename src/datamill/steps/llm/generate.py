"""The ``llm_generate`` step: synthesize records per category until each reaches ``target_count``."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import xxhash
from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from datamill.errors import RecipeError
from datamill.expr import Expr, ExprEvalError, compile_expr
from datamill.llm.client import LLMClient
from datamill.llm.request import ChatRequest, Messages
from datamill.llm.structured import parse_answer
from datamill.llm.templates import render
from datamill.records import Record, answer_text, get_field, prompt_text, set_field
from datamill.selectors import FieldTarget
from datamill.steps.base import Drop, GlobalStep, ShardSignatures
from datamill.steps.llm.common import LLMStepParams, make_client
from datamill.steps.llm.novelty import NoveltyIndex

TEXT_CAP = 2000
Mode = Literal["synthesize", "paraphrase", "back_translate"]

SYNTHESIZE = """You write training examples for the category "{{ category }}".
Here are real examples of this category:
{% for ex in examples %}
Example {{ loop.index }}
PROMPT: {{ ex.prompt }}
ANSWER: {{ ex.answer }}
{% endfor %}
Write ONE new example of the same category, in the same language, format and style, about different
content. Reply with only a JSON object: {"prompt": "...", "answer": "..."}"""

PARAPHRASE = """Rewrite this training example with different wording, keeping its meaning, language, format
and category ("{{ category }}").
PROMPT: {{ ex.prompt }}
ANSWER: {{ ex.answer }}
Reply with only a JSON object: {"prompt": "...", "answer": "..."}"""

TRANSLATE = """Translate this training example into {{ language }}. Keep its format.
PROMPT: {{ ex.prompt }}
ANSWER: {{ ex.answer }}
Reply with only a JSON object: {"prompt": "...", "answer": "..."}"""

ITEM_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"prompt": {"type": "string", "minLength": 1},
                                                                 "answer": {"type": "string", "minLength": 1}},
                               "required": ["prompt", "answer"]}


class GenerateParams(LLMStepParams):
    target_count: int = Field(ge=1, description="records wanted per category (existing + generated)")
    only_below: int | None = Field(default=None, ge=1, description="generate only for categories with fewer "
                                   "records than this (seed 000: below 100, up to 200); None: every one below target")
    category_field: FieldTarget = Field(default="category", description="field holding the category")
    categories: list[str] | None = Field(default=None, description="restrict to these categories (None: all)")
    mode: Mode = Field(default="synthesize", description="synthesize (few-shot new items), paraphrase or "
                       "back_translate (augment existing items)")
    pivot_language: str = Field(default="English", description="back_translate: the language of the round trip")
    source_language: str = Field(default="the original language", description="back_translate: translate back into")
    examples: int = Field(default=3, ge=1, le=20, description="few-shot examples per request, from the category")
    max_attempts: int | None = Field(default=None, ge=1, description="requests per category; default 3 x missing")
    similarity: float = Field(default=0.6, gt=0, le=1, description="reject a candidate whose character-3-gram "
                              "Jaccard similarity to an existing or accepted item reaches this")
    min_chars: int = Field(default=2, ge=1, description="shortest acceptable prompt and answer")
    seed: int = Field(default=0, ge=0, description="few-shot choices (hash of seed, category, attempt)")
    template: str | None = Field(default=None, description="Jinja prompt replacing the mode's default; "
                                 "variables: category, examples (prompt/answer/id), ex, language, vars")
    where: str | None = Field(default=None, description="count and fill only records matching this expression "
                              "(as filter's), e.g. \"meta.route == 'simple'\" (seed 000 synthesizes for the "
                              "simple model only); None: every record")
    inherit: list[FieldTarget] = Field(default_factory=list, description="fields copied onto generated records "
                                       "from the category's first real record, e.g. [meta.route] (so outputs split "
                                       "by them)")

    @field_validator("where")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                compile_expr(v)
            except RecipeError as exc:
                raise PydanticCustomError("expr", exc.message) from None
        return v

    @model_validator(mode="after")
    def _below(self) -> GenerateParams:
        if self.only_below is not None and self.only_below > self.target_count:
            raise ValueError("only_below must be <= target_count")
        return self


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    prompt: str
    answer: str
    kind: str
    #: (field, value) of the ``inherit`` fields
    inherited: tuple[tuple[str, Any], ...] = ()


#: (category, example) per record
Signature = tuple[str | None, Example]
Plan = list[Record]


class LLMGenerate(GlobalStep[GenerateParams, Signature, Plan]):
    """Fill every small category up to ``target_count`` with LLM-written records.

    Counts records per ``category_field`` every time it runs (reduce), so a re-run or a run on grown
    data generates only what is still missing; categories at or above the target, or not below
    ``only_below``, are left alone. Each request shows ``examples`` real items of the category
    (few-shot, chosen by a hash of seed, category and attempt) and asks for one new ``{prompt,
    answer}``; ``paraphrase`` and ``back_translate`` rewrite existing items instead. A candidate is
    kept only if it parses, is long enough and is not a near-duplicate (character 3-gram Jaccard >=
    ``similarity``, default 0.6) of an existing or already accepted item; at most ``max_attempts``
    requests per category (default 3 x missing). Generated records are appended to the last shard
    with ``tags: [synthetic, <mode>]`` and counted as ``generated``; every call is cached, so a resume
    re-uses the answers. ``where`` limits counting and filling to matching records (seed 000 fills
    only the simple model's categories); ``inherit`` copies fields (``meta.route``) from the category's
    first real record onto the generated ones.

    Like every LLM step it takes ``llm`` (model, endpoint, rate, budget), ``max_parse_retries``, ``vars`` and a
    ``template`` replacing the mode's prompt; ``pivot_language`` and ``source_language`` set the round trip of
    ``back_translate``; ``min_chars`` is the shortest acceptable prompt and answer.
    """

    name = "llm_generate"
    Params = GenerateParams
    version = "2"
    reads = ("category", "messages")
    writes = ("records", "tags", "meta.generated")

    def __init__(self, params: GenerateParams) -> None:
        super().__init__(params)
        self._report: dict[str, Any] = {}
        self._where: Expr | None = compile_expr(params.where) if params.where else None

    def _selected(self, record: Record) -> bool:
        if self._where is None:
            return True
        try:
            return bool(self._where(record))
        except ExprEvalError:
            return False

    def signature(self, record: Record) -> Signature:
        cat = get_field(record, self.params.category_field) if self._selected(record) else None
        inherited = tuple((f, get_field(record, f)) for f in self.params.inherit)
        ex = Example(str(record.get("id")), prompt_text(record)[:TEXT_CAP], answer_text(record)[:TEXT_CAP],
                     str(record.get("kind") or "sft"), inherited)
        return (None if cat is None else str(cat), ex)

    def reduce(self, shards: Iterator[ShardSignatures[Signature]]) -> dict[str, Plan]:
        p = self.params
        keep = p.only_below or p.target_count
        counts: Counter[str] = Counter()
        examples: dict[str, list[Example]] = {}
        names: list[str] = []
        for sh in shards:
            names.append(sh.shard)
            for cat, ex in sh.signatures:
                if cat is None:
                    continue
                counts[cat] += 1
                if counts[cat] <= keep:
                    examples.setdefault(cat, []).append(ex)
                else:
                    examples.pop(cat, None)
        wanted = {c: p.target_count - n for c, n in sorted(counts.items())
                  if n < keep and (p.categories is None or c in p.categories)}
        generated: list[Record] = []
        table: dict[str, dict[str, int]] = {c: {"existing": n, "generated": 0} for c, n in sorted(counts.items())}
        if wanted:
            client = make_client(p.llm, self.context, self.name)
            try:
                for cat, missing in wanted.items():
                    records, stats = self._fill(client, cat, examples.get(cat, []), missing)
                    generated.extend(records)
                    table[cat].update(stats)
                self._report = {"llm": client.progress.snapshot()}
            finally:
                client.close()
        self._report["categories"] = table
        plans: dict[str, Plan] = {name: [] for name in names}
        if names:
            plans[names[-1]] = generated
        return plans

    def apply(self, record: Record, index: int, plan: Plan) -> Record | Drop:
        return record

    def extra_records(self, plan: Plan) -> list[Record]:
        return plan

    def report(self) -> dict[str, Any]:
        return self._report

    # -- generation ---------------------------------------------------------------------------
    def _pick(self, cat: str, attempt: int, pool: list[Example], k: int) -> list[Example]:
        rng = random.Random(xxhash.xxh64_intdigest(f"{self.params.seed}\x00{cat}\x00{attempt}".encode()))
        return rng.sample(pool, min(k, len(pool)))

    def _request(self, messages: Messages, nonce: str) -> ChatRequest:
        cfg = self.params.llm
        return ChatRequest(messages=messages, model=cfg.model or "", max_tokens=cfg.max_tokens,
                           temperature=cfg.temperature, schema=ITEM_SCHEMA, nonce=nonce)

    def _prompt(self, cat: str, attempt: int, pool: list[Example], language: str) -> str:
        p = self.params
        chosen = self._pick(cat, attempt, pool, p.examples)
        template = p.template or {"synthesize": SYNTHESIZE, "paraphrase": PARAPHRASE,
                                  "back_translate": TRANSLATE}[p.mode]
        return render(template, {"category": cat, "examples": chosen, "ex": chosen[0], "language": language,
                                 "vars": p.vars})

    def _ask(self, client: LLMClient, prompts: list[tuple[str, str]]) -> list[dict[str, str] | None]:
        results = client.run([self._request([{"role": "user", "content": text}], nonce) for nonce, text in prompts])
        items: list[dict[str, str] | None] = []
        for res in results:
            parsed = parse_answer(res.text or "", ITEM_SCHEMA) if res.ok else None
            items.append(parsed.value if parsed is not None and parsed.error is None else None)
        return items

    def _fill(self, client: LLMClient, cat: str, pool: list[Example], missing: int) -> tuple[list[Record],
                                                                                             dict[str, int]]:
        p = self.params
        stats = {"requests": 0, "invalid": 0, "duplicate": 0, "generated": 0}
        if not pool:
            return [], stats
        cap = p.max_attempts or 3 * missing
        index = NoveltyIndex(p.similarity)
        for ex in pool:
            index.add(ex.prompt + "\n" + ex.answer)
        out: list[Record] = []
        attempt = 0
        while len(out) < missing and attempt < cap:
            n = min(missing - len(out), cap - attempt)
            attempts = list(range(attempt, attempt + n))
            attempt += n
            stats["requests"] += n
            lang = p.pivot_language if p.mode == "back_translate" else ""
            items = self._ask(client, [(f"{cat}:{a}", self._prompt(cat, a, pool, lang)) for a in attempts])
            if p.mode == "back_translate":
                back = [(f"{cat}:{a}:back", render(TRANSLATE, {"ex": Example("", it["prompt"], it["answer"], ""),
                                                               "language": p.source_language}))
                        for a, it in zip(attempts, items, strict=True) if it is not None]
                answers = iter(self._ask(client, back))
                items = [next(answers) if it is not None else None for it in items]
            for a, item in zip(attempts, items, strict=True):
                short = item is None or min(len(item["prompt"].strip()), len(item["answer"].strip())) < p.min_chars
                if item is None or short:
                    stats["invalid"] += 1
                    continue
                text = item["prompt"] + "\n" + item["answer"]
                if not index.is_novel(text):
                    stats["duplicate"] += 1
                    continue
                index.add(text)
                out.append(self._record(cat, a, item, pool))
        stats["generated"] = len(out)
        return out, stats

    def _record(self, cat: str, attempt: int, item: dict[str, str], pool: list[Example]) -> Record:
        p = self.params
        shown = self._pick(cat, attempt, pool, p.examples)
        record: Record = {
            "id": f"{self.name}:{cat}:{attempt:05d}", "source": self.name, "source_id": f"{cat}:{attempt}",
            "kind": shown[0].kind if shown else "sft",
            "messages": [{"role": "user", "content": item["prompt"].strip()},
                         {"role": "assistant", "content": item["answer"].strip()}],
            "tags": ["synthetic", p.mode],
            "meta": {"generated": {"mode": p.mode, "model": p.llm.model, "attempt": attempt,
                                   "examples": [e.id for e in shown]}},
        }
        set_field(record, p.category_field, cat)
        for name, value in pool[0].inherited if pool else ():
            if value is not None:
                set_field(record, name, value)
        return record
