"""The ``check_leakage`` step: near duplicates that cross from the training split into the others."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from datamill.records import Record, get_field
from datamill.selectors import FieldPath, Selector
from datamill.steps.base import Drop, GlobalStep, Params, ShardSignatures
from datamill.steps.dedup.minhash import DedupMinHash, DedupMinHashParams, MinHashSignature
from datamill.steps.dedup.semantic import DedupSemantic, DedupSemanticParams, SemanticSignature
from datamill.steps.dedup_exact import Normalize

#: (the inner dedup step's signature, the record's split)
LeakSignature = tuple[MinHashSignature | SemanticSignature, str]
#: local index -> (id of the training record it matches, similarity)
LeakPlan = dict[int, tuple[str, float]]
REASON = "leakage"
EXAMPLES = 50


class CheckLeakageParams(Params):
    on: Selector = Field(default="prompt", description="what is compared (as in the dedup steps)")
    method: Literal["exact", "near", "semantic"] = Field(
        default="near", description="exact: equal normalized text (Jaccard 1); near: MinHash Jaccard >= threshold; "
        "semantic: embeddings within cosine distance eps (as dedup_semantic)"
    )
    threshold: float = Field(default=0.7, gt=0, lt=1, description="Jaccard threshold for method 'near'")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations")
    semantic: dict[str, Any] = Field(
        default_factory=dict,
        description="method semantic: dedup_semantic parameters (eps, model, models, endpoint, mode...), "
        "its defaults otherwise",
    )
    @field_validator("semantic")
    @classmethod
    def _semantic(cls, v: dict[str, Any]) -> dict[str, Any]:
        DedupSemanticParams(**v)  # unknown or invalid keys fail when the recipe loads
        return v

    split_field: FieldPath = Field(default="split", description="field holding the split name (written by `split`)")
    train: str = Field(default="train", description="the split whose content must not reappear in the others")
    action: Literal["report", "remove"] = Field(
        default="report", description="report: keep everything and list the leaks; remove: drop the leaked "
        "records from the non-training splits"
    )


class CheckLeakage(GlobalStep[CheckLeakageParams, LeakSignature, LeakPlan]):
    """Find records of the evaluation splits that are (near) duplicates of a training record.

    Run after ``split``. Records are grouped exactly as ``dedup_minhash`` does (normalized ``on`` text,
    word/character shingles by script, MinHash + LSH + union-find; ``method: exact`` groups only identical
    normalized texts; ``method: semantic`` groups as ``dedup_semantic`` does, with its embedding cache,
    language guard and faiss eps-graph, parameters under ``semantic:``), and a record of any split other
    than ``train`` is a leak when its group holds a training record. The report counts leaks per split
    and lists examples with the matching training id and the similarity (estimated Jaccard, or cosine).
    With ``action: remove`` the leaked records are dropped (reason ``leakage``, detail ``{duplicate_of:
    <train id>, similarity, split}``); training records are never removed.
    Reads ``on`` and ``split_field``; writes nothing (method semantic: the embedding cache).

    ``threshold`` is the Jaccard similarity of method ``near`` (0.7, as ``dedup_minhash``) and ``num_perm`` its
    MinHash permutations (128).
    """

    name: ClassVar[str] = "check_leakage"
    Params = CheckLeakageParams

    def __init__(self, params: CheckLeakageParams) -> None:
        super().__init__(params)
        threshold = params.threshold if params.method == "near" else 0.999
        self._inner: DedupMinHash | DedupSemantic
        if params.method == "semantic":
            semantic = {**params.semantic, "on": params.on, "top_clusters": 0}
            self._inner = DedupSemantic(DedupSemanticParams(**semantic))
        else:
            self._inner = DedupMinHash(DedupMinHashParams(
                on=params.on, threshold=threshold, num_perm=params.num_perm, top_clusters=0,
                normalize=Normalize(punctuation=params.method == "near"),
            ))
        self._report: dict[str, Any] = {}


    def setup(self) -> None:
        self._inner.setup()

    def signature(self, record: Record) -> LeakSignature:
        return self.signature_batch([record])[0]

    def signature_batch(self, records: Sequence[Record]) -> list[LeakSignature]:
        inner: list[Any] = list(self._inner.signature_batch(records))
        return [(sig, str(get_field(r, self.params.split_field, ""))) for sig, r in zip(inner, records, strict=True)]

    def reduce(self, shards: Iterator[ShardSignatures[LeakSignature]]) -> dict[str, LeakPlan]:
        splits: list[str] = []

        def inner() -> Iterator[ShardSignatures[Any]]:
            for shard in shards:
                splits.extend(s[1] for s in shard.signatures)
                yield ShardSignatures(shard.shard, [s[0] for s in shard.signatures])

        self._inner.context = self.context  # the embedding cache of the run (method semantic); groups() writes no files
        g = self._inner.groups(inner())
        split_arr = np.asarray(splits, dtype=object)
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
            plans[ids.names[s]][pos - int(ids.offsets[s])] = (mid, sim)
        per_split = Counter(split_arr[leaked].tolist())
        totals = Counter(split_arr.tolist())
        self._report = {
            **({"embedding": g.extra.get("embedding"), "languages": g.extra.get("languages")}
               if self.params.method == "semantic" else {}),
            "method": self.params.method,
            "action": self.params.action,
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

    def apply(self, record: Record, index: int, plan: LeakPlan) -> Record | Drop:
        hit = plan.get(index)
        if hit is None or self.params.action == "report":
            return record
        kept, similarity = hit
        split = str(get_field(record, self.params.split_field, ""))
        return Drop(REASON, {"duplicate_of": kept, "similarity": similarity, "split": split})

    def report(self) -> dict[str, Any]:
        return self._report
