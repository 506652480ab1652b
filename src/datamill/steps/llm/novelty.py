"""Near-duplicate test for generated items: Jaccard similarity of character 3-gram sets.

Exact Jaccard (what MinHash estimates) is affordable here because quota synthesis compares against
small categories only; character n-grams work for CJK text without a tokenizer.
"""

from __future__ import annotations

N = 3


def shingles(text: str, n: int = N) -> frozenset[str]:
    text = " ".join(text.lower().split())
    if len(text) <= n:
        return frozenset([text]) if text else frozenset()
    return frozenset(text[i:i + n] for i in range(len(text) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class NoveltyIndex:
    """Items seen so far; ``is_novel`` is False when a new text is at least ``threshold`` similar to one."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.items: list[frozenset[str]] = []

    def add(self, text: str) -> None:
        self.items.append(shingles(text))

    def closest(self, text: str) -> float:
        s = shingles(text)
        return max((jaccard(s, other) for other in self.items), default=0.0)

    def is_novel(self, text: str) -> bool:
        return self.closest(text) < self.threshold
