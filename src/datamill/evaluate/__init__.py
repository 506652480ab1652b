"""Evaluation: a model's answers to a test split, their scores, and the before/after comparison.

``data`` (what is evaluated) -> ``generate`` (answers from a local model, ``local``, or an endpoint, through
the LLM layer's cache) -> ``metrics`` (exact match with ``extractors``; the ``llm_judge`` rubrics) -> ``run``
(``eval.json``, ``answers.jsonl``). ``compare`` pairs two evaluations (``stats``: paired intervals;
``pairwise``: a judge asked in both orders; ``table``: ``compare.md``). ``predictions`` scores a trainer's
predictions file, ``lm_eval`` writes an lm-evaluation-harness task, ``stage`` is a recipe's ``eval:`` block,
``spec`` holds the settings. Heavy packages (torch, transformers, peft, openai) are imported on use.
"""
