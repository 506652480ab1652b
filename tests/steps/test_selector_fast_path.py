"""The plain-record fast path of ``texts`` gives exactly what the general path gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from datamill.selectors import plain_pair, slots, texts

CONTENT = st.one_of(st.text(max_size=8), st.none(), st.lists(st.text(max_size=3), max_size=2),
                    st.just([{"type": "text", "text": "part"}]))
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool"]),
                                 "content": CONTENT}, optional={"reasoning": st.text(max_size=3)})
RECORD = st.fixed_dictionaries({"messages": st.lists(MESSAGE, max_size=3)},
                               optional={"chosen": st.lists(MESSAGE, max_size=2), "text": st.text(max_size=3),
                                         "rejected": st.lists(MESSAGE, max_size=2)})


@settings(max_examples=500, deadline=None)
@given(RECORD, st.sampled_from(["prompt", "answer"]))
def test_fast_path_equals_the_general_path(record: dict[str, Any], name: str) -> None:
    assert texts(record, name) == [container[key] for container, key in slots(record, name)]


def test_the_plain_record_takes_the_fast_path() -> None:
    record = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert plain_pair(record) == ("q", "a")
    assert texts(record, "prompt") == ["q"] and texts(record, "answer") == ["a"]
    assert plain_pair({**record, "chosen": []}) is None
