"""Rubrics shipped with ``llm_judge`` (chosen with ``rubric:``): a Jinja prompt, the issue categories,
and the severities. The answer is always ``{"score", "issues": [{"category", "severity", "span"}],
"reasoning"}``; the score is recomputed from the issues (see :mod:`datamill.steps.llm.scoring`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rubric:
    name: str
    template: str
    categories: tuple[str, ...]
    severities: tuple[str, ...] = ("minor", "major", "critical")


_ANSWER_FORMAT = """
Answer with only a JSON object:
{"score": <0-100>, "issues": [{"category": <one of: {{ categories }}>, "severity": <minor|major|critical>,
"span": <the exact words of the {{ span_of }} with the problem>}], "reasoning": <one or two sentences>}
Use an empty issues list when there is no problem."""

MQM_TRANSLATION = Rubric(
    name="mqm-translation",
    categories=("accuracy", "fluency", "terminology", "style", "locale"),
    template="""You are a professional translation reviewer using the MQM framework.
Find the errors in the translation. Categories:
- accuracy: mistranslation, omission, addition, untranslated text, wrong numbers
- fluency: grammar, spelling, punctuation, inconsistency, register
- terminology: wrong or inconsistent terms for the domain
- style: awkward or unidiomatic wording
- locale: date, number, currency, name and address conventions of the target locale
Severity: minor (does not affect meaning), major (changes or obscures meaning), critical (misleading,
offensive or unusable).

Source{% if source_lang is defined %} ({{ source_lang }}){% endif %}:
{{ source }}

Translation{% if target_lang is defined %} ({{ target_lang }}){% endif %}:
{{ translation }}
""" + _ANSWER_FORMAT.replace("{{ categories }}", "accuracy|fluency|terminology|style|locale")
    .replace("{{ span_of }}", "translation"),
)

SFT_QUALITY = Rubric(
    name="sft-quality",
    categories=("correctness", "helpfulness", "instruction_following", "clarity", "safety", "formatting"),
    template="""You review examples for fine-tuning a chat model. Find the problems in the ANSWER to the
PROMPT. Categories:
- correctness: wrong facts, wrong reasoning or wrong results
- helpfulness: does not address the request, too shallow, padded
- instruction_following: ignores constraints of the prompt (format, length, language)
- clarity: confusing, badly organised, repetitive
- safety: harmful, private or biased content
- formatting: broken markup, truncated text, wrong language
Severity: minor (cosmetic), major (a reader would be misled or poorly served), critical (must not be
used for training).

PROMPT:
{{ prompt }}

ANSWER:
{{ answer }}
""" + _ANSWER_FORMAT.replace("{{ categories }}",
                             "correctness|helpfulness|instruction_following|clarity|safety|formatting")
    .replace("{{ span_of }}", "answer"),
)

RUBRICS: dict[str, Rubric] = {r.name: r for r in (MQM_TRANSLATION, SFT_QUALITY)}
