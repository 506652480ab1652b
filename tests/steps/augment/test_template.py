from __future__ import annotations

import pytest
from pydantic import ValidationError

from datamill.steps.augment.template import Rewrite, RewriteParams

from ..helpers import chat, reasons, run_row_step


def test_rewrite_from_fields_and_computed_values() -> None:
    step = Rewrite(RewriteParams(template="{prompt} -> {total} {meta.unit} {{ok}}",
                                 values={"total": "meta.price * meta.qty"}))
    rows = [chat("t:0", "多少钱", "?", meta={"price": 3, "qty": 4, "unit": "元"}),
            chat("t:1", "多少钱", "?", meta={"price": 3, "qty": 4}),
            chat("t:2", "多少钱", "?", meta={"price": "x", "qty": 4.5})]
    kept, dropped = run_row_step(step, rows)
    assert kept[0]["messages"][-1]["content"] == "多少钱 -> 12 元 {ok}"
    assert reasons(dropped) == {"t:1": "rewrite_missing", "t:2": "rewrite_error"}


def test_rewrite_to_a_field_and_bad_params() -> None:
    kept, _ = run_row_step(Rewrite(RewriteParams(template="<{answer}>", to="meta.wrapped")), [chat("t", "q", "a")])
    assert kept[0]["meta"]["wrapped"] == "<a>" and kept[0]["messages"][-1]["content"] == "a"
    with pytest.raises(ValidationError):
        RewriteParams(template="x", values={"bad name": "1"})
