"""Fixtures of the evaluation tests: the LLM layer's servers (scripted mock, llama.cpp with SmolLM2) and the
tiny random model on SmolLM2's tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.tiny_model import tiny_model_dir
from llm.conftest import llama_server, mock_server

__all__ = ["llama_server", "mock_server"]


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    return tiny_model_dir()
