"""What the build report knows about a stage's records, collected while the engine writes them.

The engine keeps one :class:`Profile` per shard task and writes it next to the shard's stats
(``<shard>.profile.json``); the report merges them (:func:`merge_profiles`) instead of reading the
records again. Every part has a fixed size (see :mod:`datamill.report.sketches`), so a profile stays a
few kilobytes for any shard size.

Every stage collects the cheap parts: a few examples per drop reason, and before/after pairs of the
records the step changed (a byte comparison of the stored record with the written one). LLM judge and
label stages also count their verdicts (score distribution, issue categories, labels, confidences).
The last stage of a run collects the rest (``full``): counts per split of kind, source, language,
category and tags, character-length histograms per split and kind, score distributions and a uniform
sample per split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from datamill.records import _content_text, get_field
from datamill.report.sketches import BottomK, LengthHist, ValueCounts, item_key, merge_all
from datamill.steps.base import Drop

VERSION = 1
#: characters of one text kept in a sample (the rest is replaced by a note saying how much was cut)
TEXT_CAP = 2000
#: characters of all the texts of one sampled record together
RECORD_BUDGET = 6000
#: sample records per split of the final data
SAMPLES = 8
#: examples per drop reason
DROP_EXAMPLES = 3
#: before/after pairs per stage
CHANGES = 5
#: values kept per counted field and split (the rest are summed as "(other)")
TOP = 200
#: the split of records that have none (no split step)
NO_SPLIT = "(no split)"
#: the fields counted per split in the final data
COUNTED = ("kind", "source", "lang", "category", "tag")
#: the text lengths measured per record
PARTS = ("prompt", "answer", "total")


@dataclass(frozen=True)
class ProfileSpec:
    """What a stage's profile collects (picklable; the engine passes it with each shard task)."""

    #: composition, lengths, scores and samples of the kept records (the run's last stage)
    full: bool = False
    #: an LLM step's verdict fields: ``("judge", into, score_field)`` or ``("label", field, confidence_field)``
    verdict: tuple[str, ...] | None = None

    @classmethod
    def for_step(cls, name: str, params: dict[str, Any], *, final: bool) -> ProfileSpec:
        verdict: tuple[str, ...] | None = None
        if name == "llm_judge":
            verdict = ("judge", str(params.get("into", "meta.judge")), str(params.get("score_field", "scores.judge")))
        elif name == "llm_label":
            verdict = ("label", str(params.get("field", "category")),
                       str(params.get("confidence_field", "scores.label_confidence")))
        return cls(full=final, verdict=verdict)


def slim(value: Any, cap: int = TEXT_CAP, budget: int = RECORD_BUDGET) -> Any:
    """``value`` for a sample: strings cut to ``cap`` characters, at most ``budget`` characters in all (the
    first fields get theirs first: messages before ``meta``), lists cut to 50 items; each cut says how much."""
    left = [budget]

    def go(v: Any) -> Any:
        if isinstance(v, str):
            keep = max(0, min(len(v), cap, left[0]))
            left[0] -= keep
            return v if keep == len(v) else v[:keep] + f" … [{len(v) - keep} more characters]"
        if isinstance(v, dict):
            return {str(k): go(x) for k, x in list(v.items())[:100]}
        if isinstance(v, list):
            out = [go(x) for x in v[:50]]
            if len(v) > 50:
                out.append(f"… [{len(v) - 50} more items]")
            return out
        return v

    return go(value)


_ID_HEAD = b'{"id":"'


def _leading_id(line: bytes) -> str | None:
    """The id of a stored record (records start with their id), or None when it is not a plain string."""
    if not line.startswith(_ID_HEAD):
        return None
    end = line.find(b'"', len(_ID_HEAD))
    raw = line[len(_ID_HEAD):end] if end > 0 else b""
    return None if end < 0 or b"\\" in raw else raw.decode("utf-8", "surrogatepass")


def _chars(content: Any) -> int:
    return len(content) if isinstance(content, str) else len(_content_text(content))


def part_lengths(record: dict[str, Any]) -> tuple[int, int, int]:
    """Characters of the prompt (the user turns before the last assistant turn; a pretraining record's text),
    the answer (the last assistant turn; the chosen continuation of a preference record) and everything a
    trainer reads (every turn with its reasoning, the chosen continuation, the text), in one pass."""
    prompt = answer = total = 0
    messages = record.get("messages")
    chosen = record.get("chosen")
    if isinstance(messages, list) and messages:
        last = -1
        if chosen is None:
            for i in range(len(messages) - 1, -1, -1):
                m = messages[i]
                if isinstance(m, dict) and m.get("role") == "assistant":
                    last = i
                    break
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                continue
            n = _chars(m.get("content"))
            reasoning = m.get("reasoning")
            total += n + (len(str(reasoning)) if reasoning else 0)
            if i == last:
                answer = n
            elif (last < 0 or i < last) and m.get("role") == "user":
                prompt += n
    if isinstance(chosen, list):
        for m in chosen:
            if isinstance(m, dict):
                n = _chars(m.get("content"))
                answer += n
                total += n
    text = record.get("text")
    if isinstance(text, str):
        total += len(text)
        if not messages:
            prompt = len(text)
    return prompt, answer, total


def total_chars(record: dict[str, Any]) -> int:
    """Characters of everything a trainer reads (see :func:`part_lengths`)."""
    return part_lengths(record)[2]


def _split_of(record: dict[str, Any]) -> str:
    split = record.get("split")
    return NO_SPLIT if split is None else str(split)


@dataclass
class Verdicts:
    """An LLM judge's or labeller's answers over a stage's records."""

    kind: str
    n: int = 0
    scores: ValueCounts = field(default_factory=ValueCounts)
    labels: Counter[str] = field(default_factory=Counter)
    issues: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    needs_review: int = 0

    def observe(self, record: dict[str, Any], spec: tuple[str, ...]) -> None:
        if self.kind == "judge":
            verdict = get_field(record, spec[1])
            if not isinstance(verdict, dict):
                return
            self.n += 1
            score = get_field(record, spec[2])
            if isinstance(score, int | float) and not isinstance(score, bool):
                self.scores.add(float(score))
            issues = verdict.get("issues") or []
            for issue in issues if isinstance(issues, list) else []:
                if isinstance(issue, dict):
                    self.issues[str(issue.get("category"))] += 1
                    self.severities[str(issue.get("severity"))] += 1
            if not issues:
                self.issues["(no issue)"] += 1
        else:
            label = get_field(record, spec[1])
            if label is None:
                return
            self.n += 1
            self.labels[str(label)] += 1
            confidence = get_field(record, spec[2])
            if isinstance(confidence, int | float) and not isinstance(confidence, bool):
                self.scores.add(float(confidence))
            if "needs_review" in (record.get("tags") or ()):
                self.needs_review += 1

    def merge(self, other: Verdicts) -> None:
        self.n += other.n
        self.scores.merge(other.scores)
        self.labels.update(other.labels)
        self.issues.update(other.issues)
        self.severities.update(other.severities)
        self.needs_review += other.needs_review

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": self.n, "scores": self.scores.to_json(), "labels": dict(self.labels),
                "issues": dict(self.issues), "severities": dict(self.severities), "needs_review": self.needs_review}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdicts:
        return cls(data["kind"], int(data.get("n", 0)), ValueCounts.from_json(data.get("scores", {})),
                   Counter(data.get("labels", {})), Counter(data.get("issues", {})),
                   Counter(data.get("severities", {})), int(data.get("needs_review", 0)))


def _capped(counter: Counter[str], top: int = TOP) -> dict[str, int]:
    items = counter.most_common()
    out = dict(items[:top])
    rest = sum(c for _, c in items[top:])
    if rest:
        out["(other)"] = out.get("(other)", 0) + rest
    return out


class Profile:
    """Sketches of the records one shard task kept, dropped and changed (see the module docstring)."""

    def __init__(self, spec: ProfileSpec | None = None) -> None:
        self.spec = spec or ProfileSpec()
        self.drops: dict[str, BottomK] = {}
        self.changes = BottomK(CHANGES)
        self.verdicts = Verdicts(self.spec.verdict[0]) if self.spec.verdict else None
        self.full = self.spec.full
        self.records = 0
        self.counts: dict[tuple[str, str], Counter[str]] = {}
        self.lengths: dict[tuple[str, str, str], LengthHist] = {}
        #: what _describe gathered since the last settle(): (split, kind, source, lang, category) -> n, and
        #: (split, kind) -> prompt, answer and total lengths (one Counter bump and three appends per record)
        self._combos: Counter[tuple[str, str, Any, Any, Any]] = Counter()
        self._lens: dict[tuple[str, str], tuple[list[int], list[int], list[int]]] = {}
        self.scores: dict[str, ValueCounts] = {}
        self.samples: dict[str, BottomK] = {}
        #: rows an output wrote, as its trainer reads them, per file (export stages only)
        self.rows: dict[str, BottomK] = {}

    # -- observing -------------------------------------------------------------------------
    def kept(self, record: dict[str, Any], line: bytes | None = None, before: bytes | None = None) -> None:
        """A record the stage wrote; ``line`` is how it was stored (with its newline) and ``before`` how
        it was read (without one), for a row step's before/after pairs."""
        if before is not None and line is not None and (len(line) != len(before) + 1
                                                        or not line.startswith(before)):  # no copy of the bytes
            self.changes.offer(item_key(str(record.get("id"))),
                               lambda: {"before": slim(orjson.loads(before)), "after": slim(record)})
        if self.verdicts is not None:
            self.verdicts.observe(record, self.spec.verdict or ())
        if self.full:
            self._describe(record)

    def kept_raw(self, line: bytes) -> None:
        """A record copied in its stored bytes (filter-only steps): decoded only for the full profile."""
        if self.full or self.verdicts is not None:
            self.kept(orjson.loads(line))

    def dropped(self, record: dict[str, Any], drop: Drop) -> None:
        sample = self.drops.get(drop.reason)
        if sample is None:
            sample = self.drops[drop.reason] = BottomK(DROP_EXAMPLES)
        sample.offer(item_key(str(record.get("id"))),
                     lambda: {"record": slim(record), "detail": slim(drop.detail, 300)})
        if self.verdicts is not None:
            self.verdicts.observe(record, self.spec.verdict or ())

    def dropped_raw(self, line: bytes, drop: Drop) -> None:
        """A dropped record still in its stored bytes: decoded only if it enters the examples."""
        sample = self.drops.get(drop.reason)
        if sample is None:
            sample = self.drops[drop.reason] = BottomK(DROP_EXAMPLES)
        sample.offer(item_key(line), lambda: {"record": slim(orjson.loads(line)), "detail": slim(drop.detail, 300)})

    def written(self, record: dict[str, Any], file: str | None, row: Any) -> None:
        """A row an output wrote for ``record`` into ``file`` (its split, or the file key)."""
        name = NO_SPLIT if file is None else file
        sample = self.rows.get(name)
        if sample is None:
            sample = self.rows[name] = BottomK(SAMPLES)
        sample.offer(item_key(str(record.get("id"))), lambda: {"id": record.get("id"), "row": slim(row)})

    def written_raw(self, line: bytes, file: str | None) -> None:
        """:meth:`written` for a row an output copied as stored (canonical JSON Lines): only the id is read from
        the bytes, and the row is decoded only if it is sampled."""
        rid = _leading_id(line)
        if rid is None:
            record = orjson.loads(line)
            self.written(record, file, record)
            return
        name = NO_SPLIT if file is None else file
        sample = self.rows.get(name)
        if sample is None:
            sample = self.rows[name] = BottomK(SAMPLES)
        sample.offer(item_key(rid), lambda: {"id": rid, "row": slim(orjson.loads(line))})

    def _describe(self, record: dict[str, Any]) -> None:
        self.records += 1
        split = _split_of(record)
        kind = str(record.get("kind") or "?")
        self._combos[(split, kind, record.get("source"), record.get("lang"), record.get("category"))] += 1
        tags = record.get("tags")
        if tags:
            for tag in tags:
                self._count("tag", split, str(tag))
        lens = self._lens.get((split, kind))
        if lens is None:
            lens = self._lens[(split, kind)] = ([], [], [])
        prompt, answer, total = part_lengths(record)
        lens[0].append(prompt)
        lens[1].append(answer)
        lens[2].append(total)
        scores = record.get("scores")
        if isinstance(scores, dict):
            for name, value in scores.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    self.scores.setdefault(str(name), ValueCounts()).add(float(value))
        sample = self.samples.get(split)
        if sample is None:
            sample = self.samples[split] = BottomK(SAMPLES)
        sample.offer(item_key(str(record.get("id"))), lambda: slim(record))

    def settle(self) -> None:
        """Fold what :meth:`_describe` gathered into :attr:`counts` and :attr:`lengths`."""
        for (split, kind, source, lang, category), n in self._combos.items():
            for name, value in (("kind", kind), ("source", source), ("lang", lang), ("category", category)):
                if value is not None:
                    self._count(name, split, str(value), n)
        self._combos.clear()
        for (split, kind), columns in self._lens.items():
            for part, values in zip(PARTS, columns, strict=True):
                self.lengths.setdefault((split, kind, part), LengthHist()).add_many(values)
        self._lens.clear()

    def _count(self, name: str, split: str, value: str, n: int = 1) -> None:
        counter = self.counts.get((name, split))
        if counter is None:
            counter = self.counts[(name, split)] = Counter()
        counter[value] += n

    # -- merging and storing ---------------------------------------------------------------
    def merge(self, other: Profile) -> None:
        self.settle()
        other.settle()
        for reason, sample in other.drops.items():
            if reason in self.drops:
                self.drops[reason].merge(sample)
            else:
                self.drops[reason] = sample
        self.changes.merge(other.changes)
        if other.verdicts is not None:
            if self.verdicts is None:
                self.verdicts = other.verdicts
            else:
                self.verdicts.merge(other.verdicts)
        self.full = self.full or other.full
        self.records += other.records
        for key, counter in other.counts.items():
            self.counts.setdefault(key, Counter()).update(counter)
        for lkey, hist in other.lengths.items():
            self.lengths.setdefault(lkey, LengthHist()).merge(hist)
        for name, values in other.scores.items():
            self.scores.setdefault(name, ValueCounts()).merge(values)
        for split, sample in other.samples.items():
            self.samples.setdefault(split, BottomK(SAMPLES)).merge(sample)
        for file, sample in other.rows.items():
            self.rows.setdefault(file, BottomK(SAMPLES)).merge(sample)

    def to_json(self) -> dict[str, Any]:
        self.settle()
        data: dict[str, Any] = {
            "version": VERSION,
            "drops": {r: s.to_json() for r, s in sorted(self.drops.items())},
            "changes": self.changes.to_json(),
        }
        if self.verdicts is not None:
            data["verdicts"] = self.verdicts.to_json()
        if self.rows:
            data["rows"] = {file: s.to_json() for file, s in sorted(self.rows.items())}
        if self.full:
            data["full"] = {
                "records": self.records,
                "counts": [[name, split, _capped(c)] for (name, split), c in sorted(self.counts.items())],
                "lengths": [[split, kind, part, h.to_json()]
                            for (split, kind, part), h in sorted(self.lengths.items())],
                "scores": {name: v.to_json() for name, v in sorted(self.scores.items())},
                "samples": {split: s.to_json() for split, s in sorted(self.samples.items())},
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        full = data.get("full")
        profile = cls(ProfileSpec(full=full is not None))
        profile.drops = {r: BottomK.from_json(s) for r, s in data.get("drops", {}).items()}
        profile.changes = BottomK.from_json(data.get("changes") or {"k": CHANGES})
        if data.get("verdicts"):
            profile.verdicts = Verdicts.from_json(data["verdicts"])
        profile.rows = {f: BottomK.from_json(v) for f, v in data.get("rows", {}).items()}
        if full is not None:
            profile.records = int(full.get("records", 0))
            profile.counts = {(n, s): Counter(c) for n, s, c in full.get("counts", [])}
            profile.lengths = {(s, k, p): LengthHist.from_json(h) for s, k, p, h in full.get("lengths", [])}
            profile.scores = {n: ValueCounts.from_json(v) for n, v in full.get("scores", {}).items()}
            profile.samples = {s: BottomK.from_json(v) for s, v in full.get("samples", {}).items()}
        return profile

    def write(self, path: Path) -> None:
        """Publish atomically (the engine writes it before the shard's stats, which mark the shard done), to the
        work directory's store (local, or shared by a cluster)."""
        from datamill.exec.workdir import write_bytes_atomic

        write_bytes_atomic(path, orjson.dumps(self.to_json(), option=orjson.OPT_NON_STR_KEYS
                                              | orjson.OPT_SERIALIZE_NUMPY, default=str))


def profile_path(stats_path: Path) -> Path:
    """Where a shard's profile lives: next to its ``.stats.json``."""
    return stats_path.with_name(stats_path.name.removesuffix(".stats.json") + ".profile.json")


def read_profile(path: Path) -> Profile | None:
    from datamill.exec import store

    if not store.exists(path):
        return None
    return Profile.from_json(orjson.loads(store.read_bytes(path)))


def merge_profiles(paths: list[Path]) -> tuple[Profile | None, int]:
    """The merged profile of the files that exist, and how many of ``paths`` were missing."""
    profiles = [read_profile(p) for p in paths]
    found = [p for p in profiles if p is not None]
    return merge_all(found), len(paths) - len(found)
