"""The before/after table from two evaluations (made from LLaMA-Factory predictions files, so no model is
needed): numbers checked by hand, per category, samples, refusals; and the predictions reader itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from datamill.errors import InputError
from datamill.evaluate.compare import compare
from datamill.evaluate.data import load_data
from datamill.evaluate.predictions import score_predictions
from datamill.evaluate.spec import Compare, EvalSpec

BEFORE = [1, 0, 0, 1, 0, 1, 0, 0]   # which items each model gets right
AFTER = [1, 1, 0, 1, 1, 1, 0, 1]


def _data(tmp_path: Path) -> Path:
    rows = [{"id": f"r{i}", "kind": "sft", "category": "add" if i < 4 else "mul",
             "messages": [{"role": "user", "content": f"计算 {i} * 3 等于多少？"},
                          {"role": "assistant", "content": f"计算过程：{i} * 3 = {i * 3}"}]} for i in range(8)]
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _predictions(tmp_path: Path, name: str, right: list[int]) -> Path:
    rows = [{"prompt": f"<|im_start|>user\n计算 {i} * 3 等于多少？<|im_end|>\n<|im_start|>assistant\n",
             "predict": f"{i} * 3 = {i * 3 if ok else i * 3 + 1}", "label": f"计算过程：{i} * 3 = {i * 3}"}
            for i, ok in enumerate(right)]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


SPEC = EvalSpec.model_validate({"exact_match": {"extract": "last_number"}, "by": ["category"]})


@pytest.fixture
def evals(tmp_path: Path) -> tuple[Path, Path]:
    data = load_data(str(_data(tmp_path)))
    before = score_predictions(_predictions(tmp_path, "before", BEFORE), SPEC, tmp_path / "before", data)
    after = score_predictions(_predictions(tmp_path, "after", AFTER), SPEC, tmp_path / "after", data)
    assert before["metrics"] == {"exact_match": 0.375} and after["metrics"] == {"exact_match": 0.75}
    assert after["by_category"]["category"]["add"] == {"n": 4, "metrics": {"exact_match": 0.75}}
    return tmp_path / "before", tmp_path / "after"


def test_compare_numbers_by_hand(tmp_path: Path, evals: tuple[Path, Path]) -> None:
    report = compare(*evals, tmp_path / "cmp")
    m = report["metrics"]["exact_match"]
    # d = after - before = 0 1 0 0 1 0 0 1: mean 0.375, paired t half-width 2.364624 * 0.182981 = 0.432682
    assert (m["before"], m["after"], m["delta"], m["n"]) == (0.375, 0.75, 0.375, 8)
    assert m["ci"] == [pytest.approx(-0.057682, abs=1e-5), pytest.approx(0.807682, abs=1e-5)]
    add = report["by_category"]["category"]["add"]["metrics"]["exact_match"]
    mul = report["by_category"]["category"]["mul"]["metrics"]["exact_match"]
    # add: items 0-3, d = 0 1 0 0 -> 0.25; mul: items 4-7, d = 1 0 0 1 -> 0.5
    assert (add["delta"], add["n"], mul["delta"], mul["n"]) == (0.25, 4, 0.5, 4)
    # d = 0 1 0 0: sd = 0.5, se = 0.25, t(0.975, 3) = 3.182446 -> 0.25 +- 0.795612
    assert add["ci"] == [pytest.approx(-0.545612, abs=1e-5), pytest.approx(1.045612, abs=1e-5)]
    md = (tmp_path / "cmp" / "compare.md").read_text(encoding="utf-8")
    assert "| exact_match | 0.375 | 0.750 | +0.375 | [-0.058, +0.808] | 8 |" in md
    assert "| question | before | after | reference |" in md
    # changed items first: the three improved ones (ids r1, r4, r7)
    assert [s["id"] for s in report["samples"][:3]] == ["r1", "r4", "r7"]
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["n"] == 8


def test_bootstrap_option(tmp_path: Path, evals: tuple[Path, Path]) -> None:
    report = compare(*evals, tmp_path / "cmp", Compare(ci="bootstrap", samples=2))
    low, high = report["metrics"]["exact_match"]["ci"]
    assert 0 <= low < 0.375 < high <= 0.75  # resampled means of 0/1 differences with 3 ones in 8
    assert report["ci"]["method"] == "bootstrap" and len(report["samples"]) == 2


def test_different_prompts_are_refused(tmp_path: Path, evals: tuple[Path, Path]) -> None:
    rows = [json.loads(x) for x in (evals[1] / "answers.jsonl").read_text().splitlines()]
    rows[2]["messages"][0]["content"] = "another question"
    (evals[1] / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError, match="different prompts"):
        compare(*evals, tmp_path / "cmp")


def test_unfinished_evaluation_is_refused(tmp_path: Path, evals: tuple[Path, Path]) -> None:
    with pytest.raises(InputError, match="not a finished evaluation"):
        compare(evals[0], tmp_path / "nothing", tmp_path / "cmp")


def test_predictions_without_data_and_misaligned(tmp_path: Path) -> None:
    path = _predictions(tmp_path, "p", BEFORE)
    report = score_predictions(path, SPEC.model_copy(update={"by": []}), tmp_path / "plain")
    assert report["n"] == 8 and report["metrics"]["exact_match"] == 0.375
    data = load_data(str(_data(tmp_path)))
    rows = path.read_text(encoding="utf-8").splitlines()
    (tmp_path / "swapped.jsonl").write_text("\n".join([rows[1], rows[0], *rows[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="label does not match"):
        score_predictions(tmp_path / "swapped.jsonl", SPEC, tmp_path / "x", data)
    (tmp_path / "short.jsonl").write_text("\n".join(rows[:5]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="5 predictions but 8"):
        score_predictions(tmp_path / "short.jsonl", SPEC, tmp_path / "y", data)


def test_build_report_renders_a_real_eval_json(evals: tuple[Path, Path]) -> None:
    from datamill.report.html_steps import evaluations
    from datamill.report.sections import evaluations as found

    entries = found(evals[1].parent, (evals[1] / "eval.json",))
    assert entries[0]["metrics"] == {"exact_match": 0.75}
    html = evaluations({"eval": entries})
    # one table per breakdown field: a row per value with its n and each metric
    flat = html.replace("\n", "")
    assert re.search(r"<th[^>]*>category</th><th[^>]*>n</th><th[^>]*>exact_match</th>", flat)
    assert re.search(r"<td>add</td><td[^>]*>4</td><td[^>]*>0.75</td>", flat)
