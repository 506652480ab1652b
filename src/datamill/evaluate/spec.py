"""What an evaluation does, as typed settings: shared by ``datamill eval`` (flags or ``--config FILE``) and the
recipe's ``eval:`` block. Unknown keys are errors, like everywhere in recipes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from datamill.llm.config import LLMConfig
from datamill.steps.base import Params

ExtractorName = Literal["last_number", "boxed", "choice", "regex", "text"]
CIMethod = Literal["paired-t", "bootstrap"]


def _one_or_many(value: Any) -> Any:
    """``exact_match: {...}`` or a list of them."""
    if value is None:
        return []
    return [value] if isinstance(value, dict) else value


class ExactMatch(Params):
    """Exact match of the extracted answer against the extracted reference (1 or 0 per item)."""

    name: str = Field("exact_match", description="metric name in eval.json")
    extract: ExtractorName = Field("last_number", description="answer extractor: last_number (with the "
                                   "tolerances below), boxed (\\boxed{}), choice (a letter), regex, text")
    reference_extract: ExtractorName | None = Field(None, description="extractor for the reference (default: "
                                                    "the same); e.g. text when references are bare answers")
    pattern: str | None = Field(None, description="regex extractor: the pattern (group 1, or the whole match, "
                                "of the last match)")
    letters: str = Field("ABCD", min_length=1, description="choice extractor: the allowed letters")
    rel_tol: float = Field(1e-6, ge=0, description="numbers: relative tolerance (1e-6: equal to ~6 significant "
                           "digits, so float noise in the last digits of a reference is not a miss)")
    abs_tol: float = Field(0.0, ge=0, description="numbers: absolute tolerance, for references that are 0 or "
                           "float noise around it (0 by default: an absolute floor would accept 0 for any tiny "
                           "reference, e.g. 4.9e-11)")
    reference: str | None = Field(None, description="field holding the reference answer (default: the last "
                                  "assistant turn), e.g. meta.answer")

    @model_validator(mode="after")
    def _pattern(self) -> ExactMatch:
        if "regex" in (self.extract, self.reference_extract) and not self.pattern:
            raise ValueError("the regex extractor needs a 'pattern'")
        if self.pattern:
            import re

            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern does not compile: {exc}") from None
        return self


class Judge(Params):
    """An LLM grades each answer against one of ``llm_judge``'s rubrics; the 0-100 score is recomputed
    from the issues it lists (see docs/llm.md)."""

    name: str = Field("judge", description="metric name in eval.json")
    rubric: str = Field("sft-quality", description="a rubric of the llm_judge step")
    llm: LLMConfig = Field(default_factory=LLMConfig, description="the judge model (merged over the recipe's "
                           "llm: block)")

    @field_validator("rubric")
    @classmethod
    def _known(cls, v: str) -> str:
        from datamill.steps.llm.rubrics import RUBRICS

        if v not in RUBRICS:
            raise ValueError(f"unknown rubric '{v}'; shipped: {', '.join(RUBRICS)}")
        return v


class Generation(Params):
    """How answers are generated: greedy, up to ``max_new_tokens``."""

    max_new_tokens: int = Field(256, ge=1, le=32768, description="answer length limit")
    chat_template: bool = Field(True, description="local models: wrap the messages in the tokenizer's chat "
                                "template (what TRL trains on for conversational data); false sends the "
                                "prompt text alone, for models trained without a template (seed 003)")
    system: str | None = Field(None, description="a system message put before every prompt that has none")
    batch_size: int = Field(8, ge=1, le=1024, description="local models: prompts generated together "
                            "(sorted by length, left-padded)")
    device: str | None = Field(None, description="local models: cpu, cuda, cuda:1, mps (default: cuda when "
                               "available, else cpu)")


class Pairwise(Params):
    """A judge model compares the before and after answer of each item, once in each order."""

    llm: LLMConfig = Field(default_factory=LLMConfig, description="the judge model (merged over the recipe's "
                           "llm: block)")
    show_reference: bool = Field(True, description="show the reference answer to the judge when there is one")
    limit: int | None = Field(None, ge=1, description="judge at most this many items (the first in the data's order)")


class Compare(Params):
    """The before/after table."""

    ci: CIMethod = Field("paired-t", description="paired-t (t interval of the per-item differences) or "
                         "bootstrap (percentile, seeded)")
    level: float = Field(0.95, gt=0, lt=1, description="confidence level")
    resamples: int = Field(10_000, ge=100, description="bootstrap resamples")
    samples: int = Field(10, ge=0, description="side-by-side rows in the table (changed items first)")
    pairwise: Pairwise | None = Field(None, description="pairwise judge of before vs after (positions swapped)")


class EvalSpec(Params):
    """One evaluation: a model (local or an endpoint), the data, the metrics."""

    model: str | None = Field(None, description="local Hugging Face model: hub name, folder or .gguf file")
    adapter: str | None = Field(None, description="PEFT adapter folder applied to the local model")
    endpoint: LLMConfig | None = Field(None, description="generate through an OpenAI-compatible endpoint "
                                       "(vLLM, llama.cpp) instead: provider, model, base_url, rpm...")
    data: str | None = Field(None, description="data file or run directory (a recipe's eval uses its own run)")
    split: str | None = Field(None, description="split to evaluate (default: test for a run, every record of "
                              "a file)")
    format: str = Field("auto", description="record format of the data file (default: detect)")
    limit: int | None = Field(None, ge=1, description="evaluate at most this many items")
    by: list[str] = Field(default_factory=list, description="fields for per-category breakdowns, e.g. "
                          "[category, meta.task_type]")
    exact_match: list[ExactMatch] = Field(default_factory=list, description="exact-match metrics (one or a list)")
    judge: list[Judge] = Field(default_factory=list, description="LLM-judge rubric metrics (one or a list)")
    generation: Generation = Field(default_factory=Generation)

    _list = field_validator("exact_match", "judge", mode="before")(_one_or_many)

    @model_validator(mode="after")
    def _names(self) -> EvalSpec:
        names = [m.name for m in self.exact_match] + [j.name for j in self.judge]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"metric names must be unique; repeated: {', '.join(dup)}")
        return self


class RecipeEval(EvalSpec):
    """The recipe's ``eval:`` block: runs after the outputs (and training) in the same work directory.

    The data is the run's own final records (``split``, default ``test``). With ``before: true`` the model
    is evaluated without the adapter as well and the before/after table is written to ``eval/compare``.
    """

    before: bool = Field(True, description="also evaluate the model without the adapter and write the "
                         "before/after table")
    dry_run: bool = Field(False, description="generate nothing: write eval/eval.yaml and the datamill eval "
                          "commands (eval/commands.sh) to run later, e.g. where the GPU is")
    compare: Compare = Field(default_factory=Compare)
