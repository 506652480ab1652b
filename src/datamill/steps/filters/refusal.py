"""The ``refusal`` filter: answers that refuse or hedge as an AI ("I'm sorry, but I can't", "作为一个AI")."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field

from datamill.steps.base import Drop
from datamill.steps.filters.base import FilterParams, Scores, TextFilter

DEFAULT_PATTERNS: tuple[str, ...] = (
    r"\bas an ai\b", r"\bas a (?:large )?language model\b", r"\bi(?:'m| am) (?:sorry|afraid),? (?:but )?i "
    r"(?:can(?:no|')t|am unable|won't)", r"\bi (?:can(?:no|')t|am unable to|won't) (?:help|assist|provide|comply)"
    r" with (?:that|this)", r"\bi(?:'m| am) not able to (?:help|assist|provide)",
    r"\bi must (?:decline|refuse)", r"\bi apologi[sz]e, but\b",
    r"作为(?:一个|一名)?(?:AI|人工智能|语言模型|大语言模型|AI语言模型)", r"我(?:只)?是一个(?:AI|人工智能)",
    r"(?:抱歉|对不起|很遗憾)[，,]?\s*我(?:无法|不能|没办法|不可以)", r"我无法(?:回答|提供|协助|帮助|满足)",
    r"我不能(?:回答|提供|协助|帮助)(?:这|该|您的)",
)


class RefusalParams(FilterParams):
    patterns: list[str] = Field(default=list(DEFAULT_PATTERNS), description="regular expressions of refusals "
                                                                            "(zh + en, case-insensitive)")
    extra_patterns: list[str] = Field(default=[], description="added to 'patterns'")
    window: int | None = Field(default=400, ge=1, description="search only the first N characters (refusals "
                                                              "open the answer); null: the whole text")


class Refusal(TextFilter[RefusalParams]):
    """Drop answers that refuse or disclaim (reason ``refusal``, detail: the matched phrase).

    ``on`` defaults to ``answer``. Only the first ``window`` characters are searched, because a refusal
    opens the answer while a long helpful answer may quote such a phrase later. Score:
    ``refusal.refusal`` (1.0 or 0.0).

    ``patterns`` are the refusal regular expressions (zh + en, case-insensitive); ``extra_patterns`` are added
    to them.
    """

    name: ClassVar[str] = "refusal"
    Params = RefusalParams

    def __init__(self, params: RefusalParams) -> None:
        super().__init__(params)
        self._re = re.compile("|".join(f"(?:{p})" for p in [*params.patterns, *params.extra_patterns]),
                              re.IGNORECASE)
        self._match = ""

    def score(self, texts: list[str]) -> Scores:
        self._match = ""
        for t in texts:
            m = self._re.search(t if self.params.window is None else t[: self.params.window])
            if m:
                self._match = m.group(0)
                return {"refusal": 1.0}
        return {"refusal": 0.0}

    def decide(self, scores: Scores) -> Drop | None:
        return Drop("refusal", {"match": self._match}) if scores["refusal"] else None
