from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datamill.formats import AdapterConfig, AdapterError, get_adapter
from datamill.records import ROLES

canonical = get_adapter("canonical")

text = st.text(max_size=20)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(ROLES), "content": text}, optional={"reasoning": text, "name": text}
)
messages = st.lists(message, min_size=1, max_size=4)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), text)
meta = st.dictionaries(text, json_scalar, max_size=3)
common = {
    "id": text,
    "source": text,
    "source_id": text,
    "meta": meta,
    "tags": st.lists(text, max_size=2),
    "scores": st.dictionaries(text, st.floats(allow_nan=False, allow_infinity=False), max_size=2),
    "lang": text,
    "split": st.sampled_from(["train", "test"]),
}
records = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["sft", "chat", "cot"]), "messages": messages}, optional=common
    ),
    st.fixed_dictionaries(
        {"kind": st.just("preference"), "messages": messages, "chosen": messages, "rejected": messages},
        optional=common,
    ),
    st.fixed_dictionaries({"kind": st.just("pretrain"), "text": text.filter(str.strip)}, optional=common),
    st.fixed_dictionaries({"kind": st.just("raw"), "meta": meta}),
)


@given(records)
def test_canonical_round_trips_exactly(record: dict[str, Any]) -> None:
    """A datamill record written as JSON and read back is the same record, provenance included."""
    row = orjson.loads(orjson.dumps(record))
    assert canonical.to_record(row) == record
    assert list(canonical.to_record(row)) == list(record)
    assert canonical.score(row) == 1.0


def test_fields_outside_the_schema_move_to_meta() -> None:
    row = {"kind": "pretrain", "text": "t", "url": "u", "meta": {"a": 1}}
    assert canonical.to_record(row) == {"kind": "pretrain", "text": "t", "meta": {"a": 1, "url": "u"}}


def test_kind_override() -> None:
    assert (
        get_adapter("canonical", AdapterConfig(kind="raw")).to_record({"kind": "pretrain", "text": "t"})[
            "kind"
        ]
        == "raw"
    )


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"kind": "dpo", "messages": []}, "kind must be one of"),
        ({"kind": "sft"}, "a sft record needs 'messages'"),
        (
            {"kind": "sft", "messages": [{"role": "bot", "content": "x"}]},
            r"messages\[0\]: role must be one of",
        ),
        ({"kind": "sft", "messages": [{"role": "user", "content": 1}]}, "content must be a string"),
        ({"kind": "sft", "messages": "x"}, "'messages' must be a list"),
        ({"kind": "pretrain", "text": 3}, "has the wrong type"),
        ({"kind": "preference", "messages": [{"role": "user", "content": "q"}]}, "needs chosen and rejected"),
        ({"kind": "raw", "meta": []}, "'meta' has the wrong type"),
        ({"kind": "raw", "meta": {"x": 1}, "x": 2}, "both top-level and in meta"),
    ],
)
def test_bad_canonical_rows(row: dict[str, Any], reason: str) -> None:
    with pytest.raises(AdapterError, match=reason):
        canonical.to_record(row)


def test_scores() -> None:
    assert canonical.score({"messages": [{"role": "user", "content": "q"}]}) == 0.0
    assert canonical.score({"kind": "math", "messages": []}) == 0.1
    assert canonical.score({"kind": "sft", "messages": "x"}) == 0.3
