"""A hard budget on paid calls, tokens and cost; checked before every call, counted after it."""

from __future__ import annotations

import threading

from datamill.llm.config import Budget


class BudgetExhausted(Exception):
    """The budget is spent; no more calls are sent."""


class BudgetTracker:
    """Reserves a call before it is sent (so concurrent threads cannot overshoot ``max_calls``)."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self._lock = threading.Lock()

    @property
    def cost(self) -> float:
        b = self.budget
        return self.input_tokens / 1000 * b.price_input_per_1k + self.output_tokens / 1000 * b.price_output_per_1k

    def reserve(self) -> None:
        with self._lock:
            b = self.budget
            if b.max_calls is not None and self.calls >= b.max_calls:
                raise BudgetExhausted(f"max_calls={b.max_calls} reached")
            if b.max_tokens is not None and self.input_tokens + self.output_tokens >= b.max_tokens:
                raise BudgetExhausted(f"max_tokens={b.max_tokens} reached")
            if b.max_cost is not None and self.cost >= b.max_cost:
                raise BudgetExhausted(f"max_cost={b.max_cost} reached")
            self.calls += 1

    def release(self) -> None:
        """A reserved call that was not paid (429, connection error)."""
        with self._lock:
            self.calls -= 1

    def spent(self, input_tokens: int, output_tokens: int) -> None:
        with self._lock:
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
