from __future__ import annotations

import pytest

from datamill.llm.structured import extract_json, parse_answer

SCHEMA = {"type": "object", "properties": {"label": {"enum": ["a", "b"]}}, "required": ["label"]}


@pytest.mark.parametrize(("text", "expected"), [
    ('{"label": "a"}', {"label": "a"}),
    ('Sure!\n```json\n{"label": "b"}\n```\nDone.', {"label": "b"}),
    ('The answer is {"label": "a", "note": "x {y}"} ok', {"label": "a", "note": "x {y}"}),
    ("{'label': 'a', }", {"label": "a"}),
    ('{"label": "a", "ok": True, "n": None,}', {"label": "a", "ok": True, "n": None}),
    ('{"label": "a", "items": [1, 2', {"label": "a", "items": [1, 2]}),
    ("{\u201clabel\u201d: \u201ca\u201d}", {"label": "a"}),
])
def test_repairs(text: str, expected: dict[str, object]) -> None:
    assert extract_json(text).value == expected


def test_schema_errors_name_the_field() -> None:
    parsed = parse_answer('{"label": "c"}', SCHEMA)
    assert parsed.value is None and parsed.error is not None and "label" in parsed.error
    assert parse_answer("no json here", SCHEMA).error == "no JSON object in the answer"
