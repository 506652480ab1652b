from __future__ import annotations

from typing import Any

import pytest

from datamill.formats.cot import apply_cot, split_think


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>r</think>a", ("r", "a")),
        ("  <think>\n r \n</think>\n\n a", ("r", "a")),
        ("<think></think>a", ("", "a")),
        ("r</think>a", ("r", "a")),  # DeepSeek-R1: the template opened the block
        ("<think>unclosed", None),
        ("no tags", None),
        ("a <think>r</think> b", None),  # not at the start: left alone
    ],
)
def test_split_think(text: str, expected: tuple[str, str] | None) -> None:
    assert split_think(text) == expected


@pytest.mark.parametrize(
    ("message", "options", "expected"),
    [
        ({"content": "<think>r</think>a"}, {}, {"content": "a", "reasoning": "r"}),
        ({"content": "<think></think>a"}, {}, {"content": "a"}),
        (
            {"content": "<think>x</think>a", "reasoning": "given"},
            {},
            {"content": "<think>x</think>a", "reasoning": "given"},
        ),
        ({"content": "<think>r</think>a"}, {"split_think": False}, {"content": "<think>r</think>a"}),
        ({"content": "sol"}, {"cot_unsplittable": True}, {"content": "", "reasoning": "sol"}),
        ({"content": "<think>r</think>a"}, {"cot_unsplittable": True}, {"content": "", "reasoning": "r\na"}),
        (
            {"content": [{"type": "text", "text": "<think>r</think>"}]},
            {},
            {"content": [{"type": "text", "text": "<think>r</think>"}]},
        ),
    ],
)
def test_apply_cot(message: dict[str, Any], options: dict[str, Any], expected: dict[str, Any]) -> None:
    apply_cot(message, options)
    assert message == expected
