"""The ``check_leakage`` step: training records that (nearly) repeat an evaluation set, or near duplicates
that cross from the training split into the others."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from datamill.errors import StepError
from datamill.recipe.model import InputSpec
from datamill.records import Record, get_field
from datamill.selectors import FieldPath, Selector
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures
from datamill.steps.dedup.groups import Grouping
from datamill.steps.dedup.minhash import DedupMinHash, DedupMinHashParams, MinHashSignature
from datamill.steps.dedup.reference import best_matches, sign_references
from datamill.steps.dedup.semantic import DedupSemantic, DedupSemanticParams, SemanticSignature
from datamill.steps.dedup_exact import Normalize

#: (the inner dedup step's signature, the record's split)
LeakSignature = tuple[MinHashSignature | SemanticSignature, str]
#: local index -> the dropped detail of a leak
LeakPlan = dict[int, dict[str, Any]]
REASON = "leakage"
EXAMPLES = 50
#: similarity of two records with the same normalized text, as the MinHash estimate reports it
EXACT = 0.999


class CheckLeakageParams(Params):
    reference: list[InputSpec] | None = Field(
        default=None,
        description="evaluation sets: names of recipe inputs with role: reference, file paths or globs (read "
        "with the normal readers), or inputs {path, format, fields}; the records that match one of their "
        "records are the leaks. Without it, the split mode: records of the other splits that match a "
        "training record",
    )
    on: Selector = Field(default="prompt", description="what is compared (as in the dedup steps)")
    method: Literal["exact", "near", "semantic"] = Field(
        default="near", description="exact: equal normalized text (Jaccard 1); near: MinHash Jaccard >= threshold; "
        "semantic: embeddings within cosine distance eps (as dedup_semantic)"
    )
    threshold: float = Field(default=0.7, gt=0, lt=1, description="Jaccard threshold for method 'near'")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations")
    same_numbers: bool = Field(
        default=False,
        description="method near: count a pair as a leak only when both texts hold the same numbers in the same "
        "order; false (default): an evaluation question with its numbers changed still counts as seen "
        "(decontamination errs on the side of flagging; dedup_minhash defaults to true)",
    )
    semantic: dict[str, Any] = Field(
        default_factory=dict,
        description="method semantic: dedup_semantic parameters (eps, model, models, endpoint, mode...), "
        "its defaults otherwise",
    )
    split_field: FieldPath = Field(default="split", description="split mode: the field holding the split "
                                   "name (written by `split`)")
    train: str = Field(default="train", description="split mode: the split whose content must not reappear in "
                       "the others")
    action: Literal["report", "remove"] = Field(
        default="report", description="report: keep everything and list the leaks; remove: drop them (reason "
        "leakage): the matching training records (reference mode) or the records of the other splits (split mode)"
    )

    @field_validator("reference", mode="before")
    @classmethod
    def _reference_list(cls, v: Any) -> Any:
        items = [v] if isinstance(v, str | dict) else v
        if isinstance(items, list):  # a bare path (outside a recipe, where names are resolved when it loads)
            return [{"path": i, "name": i} if isinstance(i, str) else i for i in items]
        return v

    @field_validator("semantic")
    @classmethod
    def _semantic(cls, v: dict[str, Any]) -> dict[str, Any]:
        DedupSemanticParams(**v)  # unknown or invalid keys fail when the recipe loads
        return v

    @model_validator(mode="after")
    def _one_mode(self) -> CheckLeakageParams:
        if self.reference is not None:
            if not self.reference:
                raise ValueError("reference: name at least one evaluation set")
            defaults = type(self).model_fields
            mixed = [k for k in ("split_field", "train") if getattr(self, k) != defaults[k].default]
            if mixed:
                raise ValueError(f"{', '.join(sorted(mixed))} belong to the split mode; with reference, every "
                                 "record is compared against the evaluation sets")
        return self


class CheckLeakage(GlobalStep[CheckLeakageParams, LeakSignature, LeakPlan]):
    """Find training data that repeats evaluation data: decontamination.

    **Reference mode** (``reference:`` given; the common case): every record is compared against the
    evaluation sets named there (recipe inputs with ``role: reference``, which are never read into the
    records or the outputs, or file paths read with the normal readers). A record is a leak when an
    evaluation record is within the method's threshold of it; ``action: remove`` drops it (reason
    ``leakage``, detail ``{reference, reference_id, similarity}``). The report gives per evaluation set
    the records read (unreadable rows counted, with examples), how many of its records were found in the
    training data, the leaks per source, and examples with both previews. An evaluation set that yields no
    record is an error (it would report no leak).

    **Split mode** (no ``reference``; run after ``split``): a record of any split other than ``train`` is a
    leak when its group holds a training record; ``action: remove`` drops it (detail ``{duplicate_of:
    <train id>, similarity, split}``); training records are never removed. When no record is in the
    ``train`` split, or none in another, the step fails naming the splits it found (a missing ``split``
    field would otherwise report no leak).

    Records are grouped exactly as ``dedup_minhash`` does (normalized ``on`` text, word/character shingles
    by script, MinHash + LSH + union-find; ``method: exact`` groups only identical normalized texts;
    ``method: semantic`` groups as ``dedup_semantic`` does, with its embedding cache, language guard and
    eps-graph, parameters under ``semantic:``). Reads ``on`` (and ``split_field`` in split mode); writes
    nothing (method semantic: the embedding cache). The default ``near`` at Jaccard 0.7 catches an
    evaluation question with a few words changed; ``exact`` only verbatim copies (case, width and spacing
    aside). ``threshold`` is the Jaccard similarity of method ``near`` (0.7, as ``dedup_minhash``) and
    ``num_perm`` its MinHash permutations (128). ``same_numbers`` (default false here, unlike
    ``dedup_minhash``): true counts a near pair as a leak only when both texts hold the same numbers; by
    default an evaluation question reused with its numbers changed still counts as seen.
    """

    name: ClassVar[str] = "check_leakage"
    Params = CheckLeakageParams
    #: "3": near keeps signs, points and operators and needs the same numbers (as dedup_minhash)
    version: ClassVar[str] = "3"
    filter_only: ClassVar[bool] = True

    def __init__(self, params: CheckLeakageParams) -> None:
        super().__init__(params)
        threshold = params.threshold if params.method == "near" else EXACT
        self._inner: DedupMinHash | DedupSemantic
        if params.method == "semantic":
            semantic = {**params.semantic, "on": params.on, "top_clusters": 0}
            inner = DedupSemantic(DedupSemanticParams(**semantic))
            self._inner = inner
            self._threshold = 1.0 - inner.params.eps
        else:
            self._inner = DedupMinHash(DedupMinHashParams(
                on=params.on, threshold=threshold, num_perm=params.num_perm, top_clusters=0,
                normalize=Normalize(punctuation=params.method == "near"), same_numbers=params.same_numbers,
            ))
            self._threshold = threshold
        self._report: dict[str, Any] = {}

    def setup(self) -> None:
        self._inner.setup()

    def extra_inputs(self) -> list[InputSpec]:
        return list(self.params.reference or [])

    def signature(self, record: Record) -> LeakSignature:
        return self.signature_batch([record])[0]

    def signature_batch(self, records: Sequence[Record]) -> list[LeakSignature]:
        inner: list[Any] = list(self._inner.signature_batch(records))
        return [(sig, str(get_field(r, self.params.split_field, ""))) for sig, r in zip(inner, records, strict=True)]

    def reduce(self, shards: Iterator[ShardSignatures[LeakSignature]]) -> dict[str, LeakPlan]:
        self._inner.context = self.context  # the embedding cache of the run (method semantic); groups() writes no files
        if self.params.reference is not None:
            return self._reduce_reference(shards)
        return self._reduce_splits(shards)

    def _base_report(self, g: Grouping) -> dict[str, Any]:
        semantic = self.params.method == "semantic"
        return {**({"embedding": g.extra.get("embedding"), "languages": g.extra.get("languages")} if semantic
                   else {}),
                "method": self.params.method, "action": self.params.action, "on": self.params.on}

    # -- reference mode -----------------------------------------------------------------------
    def _reduce_reference(self, shards: Iterator[ShardSignatures[LeakSignature]]) -> dict[str, LeakPlan]:
        train_shards = [ShardSignatures(s.shard, [sig for sig, _ in s.signatures]) for s in shards]
        n_train = sum(len(s.signatures) for s in train_shards)
        ref_shards, sets = sign_references(self.params.reference or [], self._inner)
        g = self._inner.groups(iter([*train_shards, *ref_shards]))
        m = best_matches(g, n_train)
        leak = m.similarity >= self._threshold - 1e-6
        pos, ref, sim = m.train[leak], m.reference[leak], m.similarity[leak]
        ids = g.members.ids
        ref_ids = ids.get_many(ref)
        ref_set = [ids.names[s].removeprefix("reference:") for s in
                   (np.searchsorted(ids.offsets, ref, side="right") - 1).tolist()]
        plans: dict[str, LeakPlan] = {s.shard: {} for s in train_shards}
        shard_of = np.searchsorted(ids.offsets, pos, side="right") - 1
        for p, s, rid, rset, sm in zip(pos.tolist(), shard_of.tolist(), ref_ids, ref_set, sim.tolist(), strict=True):
            plans[ids.names[s]][p - int(ids.offsets[s])] = {"reference": rset, "reference_id": rid, "similarity": sm}
        sources = g.members.sources()
        found = Counter(ref_set)
        matched = Counter(r for r, _ in {(rs, rid) for rs, rid in zip(ref_set, ref_ids, strict=True)})
        shown = list(range(min(EXAMPLES, len(pos))))
        previews, ref_previews = g.members.preview(pos[shown]), g.members.preview(ref[shown])
        train_ids = ids.get_many(pos[shown])
        self._report = {
            **self._base_report(g), "mode": "reference", "threshold": round(self._threshold, 4),
            "compared": n_train, "leaked": len(pos),
            "reference": [{**s.info(), "leaks": found[s.name], "matched_records": matched[s.name]} for s in sets],
            "by_source": dict(sorted(Counter(g.members.source_names[c] for c in sources[pos].tolist()).items())),
            "linked_below_threshold": int((~leak).sum()),
            "examples": [{"id": train_ids[k], "reference": ref_set[k], "reference_id": ref_ids[k],
                          "similarity": float(sim[k]), "preview": previews[k], "reference_preview": ref_previews[k]}
                         for k in shown],
        }
        return plans

    # -- split mode ---------------------------------------------------------------------------
    def _reduce_splits(self, shards: Iterator[ShardSignatures[LeakSignature]]) -> dict[str, LeakPlan]:
        splits: list[str] = []

        def inner() -> Iterator[ShardSignatures[Any]]:
            for shard in shards:
                splits.extend(s[1] for s in shard.signatures)
                yield ShardSignatures(shard.shard, [s[0] for s in shard.signatures])

        g = self._inner.groups(inner())
        split_arr = np.asarray(splits, dtype=object)
        totals = Counter(split_arr.tolist())
        self._check_splits(totals)
        is_train = split_arr == self.params.train
        n = len(splits)
        # first training record of each group (by position); groups without one get n
        first_train = np.full(n, n, dtype=np.int64)
        train_pos = np.flatnonzero(is_train)
        np.minimum.at(first_train, g.labels[train_pos], train_pos)
        leaked = np.flatnonzero(~is_train & (first_train[g.labels] < n))
        match = first_train[g.labels[leaked]]
        sims = np.round(g.similarity(leaked, match).astype(np.float64), 4) if len(leaked) else np.zeros(0)
        ids = g.members.ids
        leaked_ids = ids.get_many(leaked)
        match_ids = ids.get_many(match)
        plans: dict[str, LeakPlan] = {name: {} for name in ids.names}
        shard_of = np.searchsorted(ids.offsets, leaked, side="right") - 1
        for pos, s, mid, sim in zip(leaked.tolist(), shard_of.tolist(), match_ids, sims.tolist(), strict=True):
            plans[ids.names[s]][pos - int(ids.offsets[s])] = {"duplicate_of": mid, "similarity": sim,
                                                              "split": str(split_arr[pos])}
        per_split = Counter(split_arr[leaked].tolist())
        self._report = {
            **self._base_report(g), "mode": "splits",
            "leaked": len(leaked),
            "by_split": {k: {"records": totals[k], "leaked": per_split.get(k, 0)} for k in sorted(totals)
                         if k != self.params.train},
            "examples": [
                {"id": lid, "split": str(split_arr[p]), "train_id": mid, "similarity": sim,
                 "preview": g.members.preview([p])[0], "train_preview": g.members.preview([m])[0]}
                for lid, mid, p, m, sim in zip(leaked_ids[:EXAMPLES], match_ids[:EXAMPLES], leaked.tolist(),
                                               match.tolist(), sims.tolist(), strict=False)
            ],
        }
        return plans

    def _check_splits(self, totals: Counter[str]) -> None:
        """The split mode compares ``train`` with the other splits: both must exist."""
        p = self.params
        found = ", ".join(f"{k or '(no ' + p.split_field + ' field)'}: {v}" for k, v in totals.most_common()) \
            or "no records"
        hint = ("run `split` before check_leakage, set split_field/train to the names your data uses, or "
                "compare against an evaluation set with reference: [...]")
        if totals and p.train not in totals:
            raise StepError(f"check_leakage: no record is in split '{p.train}' (field '{p.split_field}'); "
                            f"found {found}", hint=hint)
        if totals and len(totals) == 1:
            raise StepError(f"check_leakage: every record is in split '{p.train}' (field '{p.split_field}'): "
                            "there is nothing to compare it with", hint=hint)

    # -- apply --------------------------------------------------------------------------------
    def decide(self, index: int, plan: LeakPlan) -> Drop | None:
        hit = plan.get(index)
        if hit is None or self.params.action == "report":
            return None
        return Drop(REASON, hit)

    def report(self) -> dict[str, Any]:
        return self._report
