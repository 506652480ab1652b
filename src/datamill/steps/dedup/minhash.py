"""The ``dedup_minhash`` step: near-duplicates by MinHash + LSH banding + union-find."""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import xxhash
from pydantic import Field

from datamill.errors import require
from datamill.records import Record
from datamill.selectors import texts_by_name
from datamill.steps.base import ShardSignatures
from datamill.steps.dedup.components import components
from datamill.steps.dedup.group_step import GroupDedup
from datamill.steps.dedup.groups import Grouping, Members, preview_prefix
from datamill.steps.dedup.keep import priority
from datamill.steps.dedup.lsh import band_layout, candidate_edges, jaccard
from datamill.steps.dedup.minhash_shard import MinHashShard
from datamill.steps.dedup.params import DedupParams, parts_of
from datamill.steps.dedup.shingle_hashes import shingle_hashes
from datamill.steps.dedup.shingles import Tokenize
from datamill.steps.dedup_exact import Normalize, check_compared, normalize_batch

#: (MinHash digest as uint32 bytes or None when the text is empty, used char n-grams, id, source,
#: survivor priority, preview, hash of the numbers of the normalized text)
MinHashSignature = tuple[bytes | None, bool, str, str, float, str, int]
REASON = "duplicate_near"
#: with verification, a missed pair costs more than a checked candidate: 18 bands x 7 rows at 0.7/128
FN_WEIGHT_VERIFIED = 0.8


class DedupMinHashParams(DedupParams):
    threshold: float = Field(
        default=0.7, gt=0, lt=1,
        description="estimated Jaccard similarity of the shingle sets at or above which two records are "
        "near-duplicates",
    )
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations (signature length)")
    tokenize: Tokenize = Field(
        default="auto", description="auto: character n-grams for Chinese/Japanese records, word n-grams otherwise"
    )
    word_ngram: int = Field(default=3, ge=1, le=16, description="words per shingle")
    char_ngram: int = Field(default=3, ge=1, le=16, description="characters per shingle (Chinese/Japanese)")
    normalize: Normalize = Field(
        default=Normalize(punctuation=True), description="applied before shingling (punctuation removed by default)"
    )
    verify: bool = Field(
        default=True,
        description="keep an LSH candidate pair only when its estimated Jaccard is >= threshold "
        "(removes most false positives of banding)",
    )
    seed: int = Field(default=1, ge=0, le=2**32 - 1, description="MinHash seed")
    same_numbers: bool = Field(
        default=True,
        description="a pair is a near-duplicate only when both normalized texts hold the same numbers in the same "
        "order (a math problem with one number changed is another problem); false: numbers are only characters",
    )


#: a number of a normalized text: optional sign, digits, and groups after a point, comma, colon or slash; not
#: digits glued to the end of a word (``w123``, ``gpt4``, ``h2o``: part of a name, not a quantity)
_NUMBER = re.compile(r"(?<![A-Za-z_0-9])[+\-]?\d+(?:[.,:/]\d+)*")


def numbers_key(text: str) -> int:
    """A 64-bit hash of the numbers of ``text`` in order (equal texts, equal keys; no number: one key)."""
    return xxhash.xxh3_64_intdigest("\x00".join(_NUMBER.findall(text)).encode())


#: rensa signs a call of this many rows or more on rayon's thread pool, and a process forked after that pool
#: started hangs on its next big call (the pool's threads do not survive the fork); calls of fewer rows stay
#: on the calling thread at the same CPU cost, so no datamill process ever starts the pool
RENSA_SERIAL_ROWS = 255


def digest_rows(rensa: Any, hashes: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int) -> list[list[int]]:
    """MinHash digests of the rows whose token hashes are ``hashes[offsets[i]:offsets[i + 1]]``, in calls of
    at most :data:`RENSA_SERIAL_ROWS` rows (the same digests as one call)."""
    rows: list[list[int]] = []
    n = len(offsets) - 1
    for start in range(0, n, RENSA_SERIAL_ROWS):
        end = min(n, start + RENSA_SERIAL_ROWS)
        lo, hi = int(offsets[start]), int(offsets[end])
        part = (offsets[start:end + 1] - offsets[start]).astype(np.uint64)
        rows.extend(rensa.RMinHash.digest_matrix_from_flat_token_hashes(hashes[lo:hi], part, num_perm, seed).to_rows())
    return rows


class DedupMinHash(GroupDedup[DedupMinHashParams, MinHashSignature]):
    """Drop near-duplicates: records whose shingle sets have an estimated Jaccard >= ``threshold``.

    Signature phase (parallel per shard): the ``on`` text is normalized (case, width, whitespace,
    punctuation), cut into shingles (3-word n-grams; 3-character n-grams when the record is mostly
    Chinese/Japanese, detected per record), hashed in numpy for the whole batch, and turned into a
    ``num_perm`` MinHash with rensa (a Rust
    MinHash: ~40k records/s per core here vs ~700/s for datasketch, see docs/dedup.md). Signatures
    travel as 4 bytes per permutation (512 bytes a record at the default 128).

    Reduce: LSH banding (bands x rows chosen for ``threshold``, weighing misses 4:1 over false
    candidates: 18 x 7 at 0.7/128, which misses a pair of true Jaccard 0.85 with probability 0.1%),
    candidate pairs verified by their estimated Jaccard, then union-find
    over the pairs; every group keeps one record (``keep:``) and the others are dropped with reason
    ``duplicate_near`` and detail ``{duplicate_of, similarity, cluster}`` (the similarity is the
    estimated Jaccard to the kept record; through transitive links it can be below the threshold).

    Defaults: 0.7 on 3-gram shingles catches rewordings of a few words in instruction-length texts
    while two different prompts of the same template rarely reach it; 128 permutations estimate
    Jaccard within about +-0.04. Empty texts are never compared. Writes ``clusters.json``,
    ``labels.csv`` and ``summary.csv`` next to the stage when run in a recipe.

    Shingles: ``tokenize`` (``auto``: character n-grams for Chinese/Japanese records, words otherwise),
    ``word_ngram`` and ``char_ngram`` (3 each); ``normalize`` is applied before shingling (punctuation removed
    by default); ``verify`` keeps an LSH candidate pair only when its estimated Jaccard reaches the threshold
    (removes most false positives of banding); ``seed`` seeds the MinHash permutations. ``same_numbers``
    (default true): a pair is a near-duplicate only when both texts hold the same numbers in the same order
    (a math problem with one number changed is another problem; digits glued to a word, ``w123``, are not
    numbers); false compares numbers as characters only.
    """

    reason: ClassVar[str] = REASON
    name: ClassVar[str] = "dedup_minhash"
    Params = DedupMinHashParams
    #: "3": signs, points and operators survive punctuation removal; same_numbers (docs/dedup.md)
    version: ClassVar[str] = "3"

    def __init__(self, params: DedupMinHashParams) -> None:
        super().__init__(params)
        self._parts = parts_of(params.on)
        self._rensa: Any = None

    def setup(self) -> None:
        self._rensa = require("rensa", "dedup", "dedup_minhash")

    def signature(self, record: Record) -> MinHashSignature:
        return self.signature_batch([record])[0]

    def signature_batch(self, records: Sequence[Record]) -> list[MinHashSignature]:
        """The whole batch at once: its texts normalized in one pass (:func:`normalize_batch`), shingle
        hashes in numpy (:mod:`.shingle_hashes`), then one rensa bulk call on them (~4x faster than rensa
        hashing one Python string per shingle; the same shingle sets)."""
        p = self.params
        if self._rensa is None:
            self.setup()
        raw = [texts_by_name(r, self._parts) for r in records]
        if len(self._parts) == 1:
            texts = normalize_batch([parts[0] for parts in raw], p.normalize)
        else:
            flat = iter(normalize_batch([t for parts in raw for t in parts], p.normalize))
            texts = ["\n".join(t for t in (next(flat) for _ in parts) if t) for parts in raw]
        hashes, offsets, chars = shingle_hashes(texts, p.tokenize, p.word_ngram, p.char_ngram)
        sizes = np.diff(offsets)
        nonempty = sizes > 0
        rows: list[list[int]] = []
        if nonempty.any():
            row_offsets = np.concatenate(([0], np.cumsum(sizes[nonempty]))).astype(np.uint64)
            rows = digest_rows(self._rensa, hashes, row_offsets, p.num_perm, p.seed)
        first = p.keep.policy == "first"
        out: list[MinHashSignature] = []
        k = 0
        for record, parts, normalized, has, is_chars in zip(records, raw, texts, nonempty.tolist(), chars.tolist(),
                                                            strict=True):
            rid, source = str(record.get("id")), str(record.get("source") or "")
            prio = 0.0 if first else priority(p.keep, record)
            if not has:
                out.append((None, is_chars, rid, source, prio, "", 0))
                continue
            text = parts[0] if len(parts) == 1 else "\n".join(t for t in parts if t)
            out.append((array("I", rows[k]).tobytes(), is_chars, rid, source, prio, preview_prefix(text),
                        numbers_key(normalized)))
            k += 1
        return out

    def pack(self, signatures: list[MinHashSignature]) -> MinHashShard:
        """Worker side: the shard's signatures as columns (digest matrix, band keys, encoded ids and
        previews), so that the reduce concatenates arrays instead of walking a million tuples."""
        bands, rows = self._layout()
        return MinHashShard.from_signatures(signatures, self.params.num_perm, bands, rows)

    def _layout(self) -> tuple[int, int]:
        p = self.params
        return band_layout(p.threshold, p.num_perm, FN_WEIGHT_VERIFIED if p.verify else 0.5)

    def groups(self, shards: Iterator[ShardSignatures[Any]]) -> Grouping:
        """Every record's bookkeeping, its group label, and the pairwise similarity (used by check_leakage).

        A shard's ``signatures`` is a :class:`MinHashShard` (packed by the worker) or the plain list.
        """
        p = self.params
        members = Members()
        digests: list[np.ndarray] = []
        keys: list[np.ndarray] = []
        valid_parts: list[np.ndarray] = []
        number_parts: list[np.ndarray] = []
        chars = 0
        for shard in shards:
            packed = shard.signatures if isinstance(shard.signatures, MinHashShard) else \
                self.pack(list(shard.signatures))
            members.add_columns(shard.shard, packed.ids, packed.source_names, packed.source_codes,
                                packed.priority, packed.previews)
            digests.append(packed.digests)
            keys.append(packed.keys)
            valid_parts.append(packed.valid)
            number_parts.append(packed.numbers)
            chars += int((packed.chars & packed.valid).sum())
        n = members.n
        bands, rows = self._layout()
        matrix = np.concatenate(digests) if digests else np.zeros((0, p.num_perm), dtype=np.uint32)
        band_keys = np.concatenate(keys) if keys else np.zeros((0, bands), dtype=np.uint64)
        del digests, keys
        valid = np.concatenate(valid_parts) if valid_parts else np.zeros(0, dtype=bool)
        check_compared(self.name, p.on, n, int(valid.sum()))
        a, b = candidate_edges(band_keys, valid, min(4, self.context.workers) if self.context else 1)
        del band_keys
        candidates = len(a)
        if p.verify and len(a):
            ok = jaccard(matrix, a, b) >= p.threshold
            a, b = a[ok], b[ok]
        verified = len(a)
        if p.same_numbers and len(a):
            numbers = np.concatenate(number_parts)
            same = numbers[a] == numbers[b]
            a, b = a[same], b[same]
        extra = {"compared": int(valid.sum()), "char_ngram_records": chars, "bands": bands, "rows_per_band": rows,
                 "candidate_pairs": candidates, "verified_pairs": verified,
                 "different_numbers_pairs": verified - len(a)}
        return Grouping(members, components(n, a, b), lambda x, y: jaccard(matrix, x, y), extra)
