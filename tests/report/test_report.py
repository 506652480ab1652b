"""The build report: numbers equal the run's summary, the page is self-contained and escapes record text,
the per-shard profiles give the same report for any sharding and as reading the records would."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from datamill.cli import app
from datamill.report.build import build_report
from datamill.report.collect import build_model, stage_profile_paths
from report.conftest import ROOT, XSS, alpaca, run_rows

SPLIT = {"split": {"ratios": {"train": 0.8, "test": 0.2}, "seed": 0, "stratify_by": "meta.topic"}}


def report_of(run: Path, **kwargs: Any) -> tuple[dict[str, Any], str]:
    files = build_report(run, **kwargs)
    return json.loads(files.json.read_text(encoding="utf-8")), files.html.read_text(encoding="utf-8")


def test_demo_report_numbers_match_the_summary(demo_run: Path) -> None:
    model, html = report_of(demo_run)
    summary = json.loads((demo_run / "summary.json").read_text())
    assert model["totals"] == summary["totals"]
    assert [(s["name"], s["in"], s["out"], s["dropped"], s["quarantined"]) for s in model["stages"]] == \
        [(s["name"], s["in"], s["out"], s["dropped"], s["quarantined"]) for s in summary["steps"]]
    final = summary["steps"][-1]["out"]
    composition = model["composition"]
    assert composition["records"] == final == 200
    for field in ("kind", "source"):
        assert sum(n for split in composition["fields"][field].values() for n in split.values()) == final
    split_report = summary["steps"][-1]["report"]["counts"]
    for split, n in split_report.items():
        assert sum(composition["fields"]["kind"][split].values()) == n
    assert model["splits"][0]["counts"] == split_report
    assert sum(g["n"] for g in model["lengths"]["groups"] if g["part"] == "total") == final
    # every drop reason has examples with that reason's records; quarantined rows carry file:line
    for stage in summary["steps"]:
        entry = next(s for s in model["stages"] if s["name"] == stage["name"])
        assert set(entry["examples"]) == set(stage["dropped"])
        for reason, n in stage["dropped"].items():
            assert 1 <= len(entry["examples"][reason]) <= min(3, n)
    assert model["quarantine"]["total"] == 3
    assert {e["location"] for e in model["quarantine"]["examples"]} >= {"demo-data/chat_sharegpt.jsonl:6"}
    assert [f["records"] for o in model["outputs"] for f in o["files"]] == \
        [f["records"] for o in summary["outputs"] for f in o["files"]]
    assert all(o["rows"] for o in model["outputs"])
    assert f'data-kpi="read"><div class="l">read</div><div class="v">{summary["totals"]["read"]}' in html
    assert "demo-data/chat_sharegpt.jsonl:6" in html


def test_the_page_loads_nothing_and_runs_no_script(demo_run: Path) -> None:
    _, html = report_of(demo_run)
    for forbidden in ("<script", " src=", "href=\"http", "href='http", "url(", "@import", "<link", "<iframe"):
        assert forbidden not in html.lower(), forbidden
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert len(html.encode()) < 500_000


def test_record_text_is_escaped(tmp_path: Path) -> None:
    rows = [{"instruction": x, "input": "", "output": f"answer {i} {x}", "topic": x} for i, x in enumerate(XSS)]
    rows += [{"instruction": "drop me " + x, "input": "", "output": "", "topic": "t"} for x in XSS]
    run_rows(tmp_path, rows, [{"filter": {"expr": "len(answer) > 0", "reason": "empty_answer"}},
                              {"normalize": {"on": "answer"}}, SPLIT])
    model, html = report_of(tmp_path / "run")
    assert model["stages"][1]["examples"]["empty_answer"]
    lowered = html.lower()
    for bad in ("<script", "<img", "<svg onload", "onerror=\"", "</textarea><"):
        assert bad not in lowered, bad
    assert "&lt;script&gt;window.__xss" in html
    assert "&lt;img src=x onerror=" in html


def test_profiles_give_the_same_report_for_any_sharding(tmp_path: Path) -> None:
    rows = alpaca(300)
    steps = [{"filter": {"expr": "meta.topic != 'code'", "reason": "no_code"}}, {"normalize": {"on": "all"}},
             {"dedup_exact": {"on": "prompt"}}, SPLIT]
    a = run_rows(tmp_path / "a", rows, steps, shard_size=7)
    b = run_rows(tmp_path / "b", rows, steps, shard_size=10_000)
    assert a["totals"] == b["totals"]
    ma, _ = report_of(tmp_path / "a" / "run")
    mb, _ = report_of(tmp_path / "b" / "run")
    for key in ("composition", "lengths", "scores", "samples", "splits"):
        assert ma[key] == mb[key], key
    for sa, sb in zip(ma["stages"], mb["stages"], strict=True):
        assert (sa["examples"], sa["changed"], sa["changes"]) == (sb["examples"], sb["changed"], sb["changes"])


def test_profiles_equal_reading_the_records(tmp_path: Path) -> None:
    run_rows(tmp_path, alpaca(120), [{"filter": {"expr": "meta.topic != 'poem'"}}, SPLIT], shard_size=13)
    run = tmp_path / "run"
    collected = build_model(run)
    assert collected["notes"] == []
    last = sorted((run / "steps").iterdir())[-1]
    for path in stage_profile_paths(last):
        path.unlink()
    reread = build_model(run)
    assert len(reread["notes"]) == 1 and "reading 80 records" in reread["notes"][0]
    for key in ("composition", "lengths", "scores", "samples"):
        assert collected[key] == reread[key], key


def test_before_after_pairs_show_what_a_cleaner_changed(tmp_path: Path) -> None:
    rows = [{"instruction": f"问题{i}", "input": "", "output": f"你好,世界  {i}" if i % 2 else f"ok {i}"}
            for i in range(20)]
    summary = run_rows(tmp_path, rows, [{"normalize": {"on": "answer"}}])
    model, html = report_of(tmp_path / "run")
    stage = model["stages"][1]
    assert stage["changed"] == 10 and summary["steps"][1]["out"] == 20
    assert len(stage["changes"]) == 5
    for pair in stage["changes"]:
        before = pair["before"]["messages"][-1]["content"]
        after = pair["after"]["messages"][-1]["content"]
        assert before != after and "，" in after
    assert "<del>," in html and "<ins>，" in html


def test_dedup_section_shows_clusters_side_by_side(tmp_path: Path) -> None:
    pytest.importorskip("rensa", reason="rensa not installed (pip install 'datamill[dedup]')")
    base = "the quick brown fox jumps over the lazy dog near the river bank today"
    rows = [{"instruction": base + (" again" * (i % 3)), "input": "", "output": "same"} for i in range(6)]
    rows += [{"instruction": f"unrelated question number {i} about something else", "input": "", "output": "x"}
             for i in range(6)]
    run_rows(tmp_path, rows, [{"dedup_minhash": {"on": "prompt", "threshold": 0.5}}])
    model, html = report_of(tmp_path / "run")
    dedup = model["dedup"][0]
    assert dedup["dropped"] == 5 and dedup["by_source"][0]["removed"] == 5
    cluster = dedup["clusters"][0]
    assert cluster["size"] == 6 and len(cluster["members"]) == 6
    assert sum(m["kept"] for m in cluster["members"]) == 1
    assert html.count('class="member') >= 6 and "sim " in html


def test_llm_section_counts_calls_tokens_and_verdicts(tmp_path: Path, mock_server: Any) -> None:
    def reply(body: dict[str, Any]) -> str:
        text = body["messages"][0]["content"]
        number = int(re.search(r"question (\d+)", text).group(1))  # type: ignore[union-attr]
        if number % 5 == 4:
            return "no json here"
        label = ["math", "poem"][number % 2]
        return json.dumps({"label": label, "confidence": 0.5 + 0.1 * (number % 4), "reasoning": f"because {number}"})

    server = mock_server(rpm=None, latency=(0.0, 0.01), error_rate=0.0, reply=reply)
    step = {"llm_label": {"labels": ["math", "poem"], "max_parse_retries": 0,
                          "llm": {"base_url": server.url, "model": "mock", "rpm": 600,
                                  "budget": {"price_input_per_1k": 1.0, "price_output_per_1k": 2.0}}}}
    summary = run_rows(tmp_path, alpaca(30), [step])
    model, html = report_of(tmp_path / "run")
    entry = model["llm"][0]
    assert entry["paid_calls"] == 30 and entry["cached_calls"] == 0
    assert entry["input_tokens"] == 300 and entry["output_tokens"] == 300
    assert entry["cost"] == pytest.approx(0.3 + 0.6)
    assert entry["invalid_outputs"] == 6 == summary["totals"]["dropped"]["llm_invalid_output"]
    assert entry["rpm_limit"] == 600 and entry["achieved_rpm"] > 0
    verdicts = entry["verdicts"]
    assert verdicts["labels"] == {"math": 12, "poem": 12}
    assert verdicts["n"] == 24 and verdicts["scores"]["n"] == 24
    assert verdicts["needs_review"] == sum(1 for i in range(30) if i % 5 != 4 and 0.5 + 0.1 * (i % 4) < 0.8)
    assert 'id="llm"' in html


def test_eval_results_are_rendered(demo_run: Path, tmp_path: Path) -> None:
    result = {"model": "smollm2", "adapter": "lora-a", "n": 40, "metrics": {"exact_match": 0.625, "judge": 71.5},
              "by_category": {"math": {"n": 20, "exact_match": 0.75}, "poem": {"n": 20, "exact_match": 0.5}}}
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(result))
    model, html = report_of(demo_run, eval_paths=(path,), out_dir=tmp_path / "report")
    assert model["eval"][0]["metrics"] == result["metrics"]
    assert 'id="eval"' in html and "exact_match" in html and "lora-a" in html


def test_token_lengths_are_exact_with_the_cutoff(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(["question", "answer", "x"])}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    rows = [{"instruction": "question " * (i + 1), "input": "", "output": "answer " * (3 * i), "topic": "t"}
            for i in range(40)]
    run_rows(tmp_path, rows, [SPLIT])
    model, html = report_of(tmp_path / "run", tokenizer=str(tmp_path / "tokenizer.json"), cutoff=50)
    tokens = model["tokens"]
    lengths = [(i + 1) + 3 * i for i in range(40)]  # prompt words + answer words
    assert tokens["n"] == 40 and tokens["over"] == sum(n > 50 for n in lengths)
    assert sum(g["over"] for g in tokens["groups"]) == tokens["over"]
    assert max(g["max"] for g in tokens["groups"]) == max(lengths)
    assert f'data-over="{tokens["over"]}"' in html and 'class="marker"' in html
    again, _ = report_of(tmp_path / "run", tokenizer=str(tmp_path / "tokenizer.json"), cutoff=50)
    assert again["tokens"] == tokens  # cached in report/tokens-*.json
    assert len(list((tmp_path / "run" / "report").glob("tokens-*.json"))) == 1


def test_report_stays_small_with_huge_records(tmp_path: Path) -> None:
    rows = [{"instruction": f"q{i} " + "长" * 20_000, "input": "", "output": "a" * 100_000,
             "meta_blob": ["m" * 5000] * 200, "topic": ["a", "b"][i % 2]} for i in range(200)]
    run_rows(tmp_path, rows, [{"filter": {"expr": "len(answer) > 0"}}, SPLIT])
    files = build_report(tmp_path / "run")
    assert files.html.stat().st_size < 2_000_000
    assert files.json.stat().st_size < 2_000_000


def test_cli_run_writes_the_report_and_report_rebuilds_it(tmp_path: Path) -> None:
    runner = CliRunner()
    recipe = ROOT / "recipes" / "demo.yaml"
    result = runner.invoke(app, ["run", str(recipe), "--workdir", str(tmp_path / "a"), "-q", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "report" / "index.html").is_file()
    result = runner.invoke(app, ["run", str(recipe), "--workdir", str(tmp_path / "b"), "-q", "-j", "1", "--no-report"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "b" / "report").exists()
    result = runner.invoke(app, ["report", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "report" / "index.html").is_file() and "report.json" in result.output
    result = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert result.exit_code == 3 and "no summary.json" in result.output


def test_a_run_without_steps_profiles_its_read(tmp_path: Path) -> None:
    summary = run_rows(tmp_path, alpaca(30), [], shard_size=4)
    model = build_model(tmp_path / "run")
    assert model["notes"] == []  # the read stage collected the full profile itself
    assert model["composition"]["records"] == summary["totals"]["written"] == 30
    assert sum(model["composition"]["fields"]["source"]["(no split)"].values()) == 30


def test_judge_verdicts_and_synthesis_table(tmp_path: Path, mock_server: Any) -> None:
    def reply(body: dict[str, Any]) -> str:
        number = int(re.search(r"question (\d+)", body["messages"][0]["content"]).group(1))  # type: ignore[union-attr]
        issues = [{"category": "clarity", "severity": "minor", "span": "answer"}] * (number % 3)
        if number % 4 == 0:
            issues = [*issues, {"category": "correctness", "severity": "major", "span": f"answer {number}"}]
        return json.dumps({"score": 50, "issues": issues, "reasoning": f"r{number}"})

    server = mock_server(rpm=None, latency=(0.0, 0.01), error_rate=0.0, reply=reply)
    judge = {"llm_judge": {"llm": {"base_url": server.url, "model": "mock"}}}
    run_rows(tmp_path, alpaca(24), [judge])
    model, html = report_of(tmp_path / "run")
    v = model["llm"][0]["verdicts"]
    clarity = sum(i % 3 for i in range(24))
    assert v["kind"] == "judge" and v["n"] == 24
    assert v["issues"] == {"clarity": clarity, "correctness": 6, "(no issue)": sum(1 for i in range(24)
                                                                                 if i % 3 == 0 and i % 4)}
    assert v["severities"] == {"minor": clarity, "major": 6}
    assert v["scores"]["n"] == 24 and v["scores"]["max"] == 100  # the score recomputed from the issues
    assert model["scores"]["judge"]["n"] == 24
    assert "issue categories" in html


def test_generated_vs_existing_table() -> None:
    from datamill.report import html_steps, sections

    step = {"name": "03-llm_generate", "step": "llm_generate", "params": {"llm": {"model": "m", "rpm": 60}},
            "notes": {}, "dropped": {},
            "report": {"llm": {"paid": 7, "cached": 1, "attempts": 8, "input_tokens": 70, "output_tokens": 90,
                               "rpm": 55.0, "errors": {}},
                       "categories": {"small": {"existing": 3, "generated": 5, "rejected_duplicates": 1},
                                      "big": {"existing": 300, "generated": 0}}}}
    entry = sections.llm([step], [None])[0]
    assert (entry["paid_calls"], entry["achieved_rpm"], entry["rpm_limit"]) == (7, 55.0, 60)
    html = html_steps.llm({"llm": [entry]})
    assert "generated vs existing per category" in html
    assert "<td>small</td><td class=\"num\">3</td><td class=\"num\">5</td>" in html
