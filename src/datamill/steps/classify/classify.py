"""The ``classify`` step: ordered rules assign ``category`` (first match) and ``tags`` (all matches)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from datamill.errors import RecipeError
from datamill.part_writes import WriteConflict, write
from datamill.records import Record
from datamill.selectors import FieldTarget, Selector, Target, read_value
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures
from datamill.steps.classify.rules import CompiledRule, Rule, compile_rules, load_rules_file

#: (category, tags) of one record
ClassSignature = tuple[str, tuple[str, ...]]


class ClassifyParams(Params):
    rules: list[Rule] = Field(default=[], description="ordered rules: {category, regex, keywords, all_keywords, "
                                                      "when, on}; a rule matches when all its conditions hold")
    rules_file: str | None = Field(default=None, description="YAML file with more rules (appended after 'rules')")
    on: Selector = Field(default="prompt", description="text the regex/keyword conditions look at (per rule: "
                         "'on'): a part, a field path or a list")
    mode: Literal["first", "all"] = Field(
        default="first", description="first: the first matching rule gives the category; all: also write "
        "every matching category to 'tags'"
    )
    default: str | None = Field(default="other", description="category when no rule matches; null: leave the "
                                                            "field unset")
    field: Target = Field(default="category", description="where the category is written: a field path or a "
                          "writable part")
    tags_field: FieldTarget = Field(default="tags", description="field written with all matches (mode: all)")
    drop: list[str] = Field(default=[], description="categories to drop right away (reason category:<name>)")

    @model_validator(mode="after")
    def _some_rules(self) -> ClassifyParams:
        if not self.rules and not self.rules_file:
            raise ValueError("give 'rules' or 'rules_file'")
        return self


class Classify(GlobalStep[ClassifyParams, ClassSignature, None]):
    """Label records by ordered rules (regex, keywords, field conditions); report the distribution.

    Rules are tried in order; with ``mode: first`` the first match is the ``category``, with ``mode: all``
    the first match is the ``category`` and every match goes to ``tags`` (appended to existing tags).
    Records no rule matches get ``default`` (``other``). Regex and keyword conditions look at ``on``
    (default ``prompt``: what the example asks is what it is about), per rule overridable; ``when`` is a
    safe expression over fields. ``drop`` removes categories at once (reason ``category:<name>``).

    The report (stats.json) is the distribution: per category the count and the proportion of all
    records, in rule order then ``default``, and in ``all`` mode the tag counts too.

    ``rules_file`` appends rules from a YAML file after ``rules``; ``field`` (a field path or a writable part,
    ``category`` by default) receives the category and ``tags_field`` (``tags``) every match in ``all`` mode. A
    category that cannot be written is a ``field_conflict`` drop.
    """

    name: ClassVar[str] = "classify"
    Params = ClassifyParams
    reads: ClassVar[tuple[str, ...]] = ("messages", "text", "meta")
    writes: ClassVar[tuple[str, ...]] = ("category", "tags")

    def __init__(self, params: ClassifyParams) -> None:
        super().__init__(params)
        rules = list(params.rules)
        if params.rules_file:
            try:
                rules += load_rules_file(params.rules_file)
            except (OSError, ValueError) as exc:
                raise RecipeError(f"classify: cannot read rules_file: {exc}", location="params.rules_file") from None
        self._rules: list[CompiledRule] = compile_rules(rules, params.on)
        self._order = list(dict.fromkeys([r.category for r in self._rules]
                                         + ([params.default] if params.default else [])))
        self._report: dict[str, Any] = {}

    def classify(self, record: Record) -> ClassSignature:
        cache: dict[str, str] = {}
        matched: list[str] = []
        for rule in self._rules:
            if rule.category not in matched and rule.matches(record, cache):
                matched.append(rule.category)
                if self.params.mode == "first":
                    break
        category = matched[0] if matched else (self.params.default or "")
        return category, tuple(matched) if self.params.mode == "all" else ()

    def signature(self, record: Record) -> ClassSignature:
        return self.classify(record)

    def reduce(self, shards: Iterator[ShardSignatures[ClassSignature]]) -> dict[str, None]:
        cats: Counter[str] = Counter()
        tags: Counter[str] = Counter()
        plans: dict[str, None] = {}
        for shard in shards:
            plans[shard.shard] = None
            for category, matched in shard.signatures:
                cats[category] += 1
                tags.update(matched)
        total = sum(cats.values())
        order = [c for c in self._order if c in cats] + sorted(c for c in cats if c not in self._order)
        table = {(c or "null"): {"count": cats[c], "proportion": cats[c] / total if total else 0.0} for c in order}
        self._report = {"total": total, "categories": table}
        if self.params.mode == "all":
            self._report["tags"] = dict(tags.most_common())
        return plans

    def apply(self, record: Record, index: int, plan: None) -> Record | Drop:
        category, matched = self.classify(record)
        if category in self.params.drop:
            return Drop(f"category:{category}")
        try:
            if category:
                write(record, self.params.field, category)
            if self.params.mode == "all" and matched:
                existing = read_value(record, self.params.tags_field)
                current = list(existing) if isinstance(existing, list) else []
                write(record, self.params.tags_field, current + [t for t in matched if t not in current])
        except WriteConflict as exc:
            return Drop("field_conflict", {"field": self.params.field, "error": str(exc)})
        return record

    def report(self) -> dict[str, Any]:
        return self._report

    def table(self) -> str:
        """The distribution as a Markdown table (for printing)."""
        rows = ["| category | count | proportion |", "|---|---:|---:|"]
        for c, v in self._report.get("categories", {}).items():
            rows.append(f"| {c} | {v['count']} | {v['proportion']:.4f} |")
        return "\n".join(rows)
