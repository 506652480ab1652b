"""The seed 003 recipe on the real data: the category table equals a direct count, every written solution
recomputes exactly, English is gone, train and a held-out test split (>= 300) are multiples of 8."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from datamill.steps.augment.arith import problem_kind, solve

RECIPE = Path(__file__).resolve().parents[3] / "recipes" / "seed003-arithmetic" / "recipe.yaml"
LAST = re.compile(r"-?\d+(?:\.\d+)?(?:E[+-]?\d+)?")


def test_seed003_recipe(corpora: Path, tmp_path: Path) -> None:
    summary = run_recipe(load_recipe(RECIPE), tmp_path / "run", workers=1)
    rows = [json.loads(line) for line in (corpora / "4_ascend_arith_zh" / "test-v2.json").open(encoding="utf-8")]
    unique = list({(r["problem"].strip(), r["solution"].strip()): r for r in rows}.values())
    direct = Counter(problem_kind(r["problem"]) for r in unique)

    stats = json.loads(next((tmp_path / "run" / "steps").glob("*-classify/stats.json")).read_text())
    table = stats["report"]["categories"]
    assert {k: v["count"] for k, v in table.items()} == dict(direct)
    assert abs(sum(v["proportion"] for v in table.values()) - 1) < 1e-9
    assert stats["dropped"] == {"category:english": direct["english"]}

    arith = json.loads(next((tmp_path / "run" / "steps").glob("*-arith_solution/stats.json")).read_text())
    assert arith["report"]["given_wrong"] == 0 and arith["report"]["unparsed"] == 0

    train = json.loads((tmp_path / "run" / "export" / "train.json").read_text(encoding="utf-8"))
    test = json.loads((tmp_path / "run" / "export" / "test.json").read_text(encoding="utf-8"))
    assert len(train) % 8 == 0 and len(test) % 8 == 0 and len(test) >= 300  # held out for eval:
    problems = [{r["conversations"][0]["value"] for r in part} for part in (train, test)]
    assert not problems[0] & problems[1]
    assert summary["totals"]["written"] == len(train) + len(test)
    exported = train + test
    # the train: block (a dry run): TRL config for SmolLM2 with seed 003's LoRA settings, on the train split only
    assert summary["train"]["dry_run"] is True and summary["train"]["backend"] == "trl"
    trl = (tmp_path / "run" / "train" / "trl_sft.yaml").read_text(encoding="utf-8")
    assert "lora_r: 8" in trl and "lora_dropout: 0.2" in trl and "learning_rate: 0.0001" in trl
    assert len((tmp_path / "run" / "train" / "data" / "train.jsonl").read_text().splitlines()) == len(train)
    # the eval: block (a dry run): the commands for the model alone and with the adapter, and the table
    commands = summary["eval"]["commands"]
    assert len(commands) == 3 and "--adapter" in commands[1] and "--compare" in commands[2]
    for row in exported:
        human, gpt = row["conversations"][0], row["conversations"][1]
        assert (human["from"], gpt["from"]) == ("human", "gpt")
        assert gpt["value"].startswith("计算过程：")
        solved = solve(human["value"])
        assert solved is not None, human
        if solved.kind == "fraction simplify":
            assert gpt["value"].endswith(str(solved.exact))
            continue
        written = Decimal(LAST.findall(gpt["value"])[-1])
        exponent = written.as_tuple().exponent
        assert isinstance(exponent, int)
        # the written value is the exact value, correctly rounded to the digits it shows
        if solved.kind == "sqrt computation":
            x, half = Fraction(Decimal(LAST.findall(human["value"])[0])), Fraction(10) ** exponent / 2
            assert (Fraction(written) - half) ** 2 <= x <= (Fraction(written) + half) ** 2, row
        else:
            assert abs(Fraction(written) - solved.exact) <= Fraction(10) ** exponent / 2, row
    kinds = Counter(problem_kind(r["conversations"][0]["value"]) for r in exported)
    assert "english" not in kinds and len(kinds) == len(direct) - 1
