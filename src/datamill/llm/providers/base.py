"""What a live provider does: send one chat request, return the text and token counts, or raise
:class:`datamill.llm.errors.LLMCallError` with a kind the client can act on."""

from __future__ import annotations

from typing import Protocol

from datamill.llm.request import ChatRequest, ChatResult


class Provider(Protocol):
    def complete(self, request: ChatRequest) -> ChatResult: ...
