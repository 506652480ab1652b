"""The alpaca adapter's fast path builds exactly the record the general path builds, or declines."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from datamill.formats.alpaca import AlpacaAdapter
from datamill.formats.base import AdapterConfig, AdapterError

TEXT = st.one_of(st.sampled_from(["", " ", "\n", "q", "计算 1 加 2", "a</think>b", "<think>x</think>y"]),
                 st.text(max_size=12))
VALUE = st.one_of(TEXT, st.none(), st.integers(), st.lists(TEXT, max_size=2), st.booleans())
KEYS = st.sampled_from(["instruction", "input", "output", "system", "history", "extra", "id", "instances",
                        "chosen", "rejected", "tools"])


def general(adapter: AlpacaAdapter, row: dict[str, Any]) -> Any:
    try:
        return adapter._general(row)
    except AdapterError as exc:
        return ("error", str(exc))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, VALUE, max_size=6), st.sampled_from([{}, {"fields": {"prompt": "q", "answer": "a"}}]))
def test_fast_path_equals_general_path(row: dict[str, Any], config: dict[str, Any]) -> None:
    if config:
        row = {("q" if k == "instruction" else "a" if k == "output" else k): v for k, v in row.items()}
    adapter = AlpacaAdapter(AdapterConfig(**config))
    fast = adapter._plain(row)
    if fast is not None:
        assert fast == general(adapter, row)
        assert list(fast) == list(general(adapter, row))  # same key order: the same stored bytes


def test_the_common_row_takes_the_fast_path() -> None:
    adapter = AlpacaAdapter()
    row = {"instruction": "Add", "input": "1 2", "output": "3", "source": "x"}
    assert adapter._plain(row) == {"kind": "sft", "messages": [{"role": "user", "content": "Add\n1 2"},
                                                               {"role": "assistant", "content": "3"}],
                                   "meta": {"source": "x"}}
    assert adapter.to_record(row) == adapter._general(row)
    assert adapter._plain({**row, "output": "<think>a</think>b"}) is None  # reasoning: the general path
    assert AlpacaAdapter(AdapterConfig(kind="chat"))._fast is False
