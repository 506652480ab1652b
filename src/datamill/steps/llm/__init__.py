"""LLM steps: judge, label, generate (quota synthesis and augmentation), batch verdicts, and the rule
checks for translations that need no model. The LLM layer itself lives in :mod:`datamill.llm`."""
