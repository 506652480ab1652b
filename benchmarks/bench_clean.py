"""Cleaning/filtering benchmarks; prints Markdown tables (results go in docs/cleaning.md).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clean.py [--records 4000]

1. HTML extraction: token F1 (precision, recall) of each extractor against the ground truth of
   ../shared/corpora/8_html_article_benchmark (scrapinghub's article-extraction-benchmark, same metric:
   bag of lowercased word tokens).
2. Language ID accuracy of ``lang_id`` on a labelled zh/en/ja sample: zh and en lines from corpora files
   of known language, ja from a small hand-written set below.
3. Throughput of every step (records/s with 2 worker processes) on zh/en SFT records from the corpora.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from datamill.steps.base import Drop, RowStep
from datamill.steps.registry import default_registry

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
JA = [
    "今日はとても良い天気ですね。", "私は毎朝コーヒーを飲みます。", "この本はとても面白かったです。",
    "駅までどのくらいかかりますか？", "日本語を勉強して三年になります。", "週末は家族と一緒に山へ行きました。",
    "このレストランのラーメンは本当においしい。", "明日の会議は午後二時から始まります。",
    "彼女はピアノを弾くのが上手です。", "新しいパソコンを買いたいと思っています。",
    "東京は世界で最も人口の多い都市の一つです。", "すみません、トイレはどこですか？",
    "子供たちは公園で遊んでいます。", "雨が降りそうなので傘を持って行きましょう。",
    "この問題について先生に質問しました。", "夏休みに北海道を旅行する予定です。",
    "電車が遅れたので、会社に遅刻しました。", "猫が窓の外をじっと見ている。",
    "来年、大学を卒業したら海外で働きたい。", "お誕生日おめでとうございます！",
    "このアプリを使うと簡単に写真を編集できます。", "昨日の夜、友達と映画を見に行きました。",
    "健康のために毎日三十分歩いています。", "図書館で静かに本を読むのが好きです。",
    "ご飯を食べた後で、宿題をします。", "桜の花が咲く季節になりました。",
    "申し訳ありませんが、今日は参加できません。", "この料理の作り方を教えてください。",
    "富士山は日本で一番高い山です。", "新幹線で大阪まで二時間半かかります。",
]


def tokens(s: str) -> list[str]:
    return re.findall(r"\w+", s.lower())


def f1(pred: str, ref: str) -> tuple[float, float, float]:
    p, r = Counter(tokens(pred)), Counter(tokens(ref))
    common = sum((p & r).values())
    if not common:
        return 0.0, 0.0, 0.0
    prec, rec = common / sum(p.values()), common / sum(r.values())
    return 2 * prec * rec / (prec + rec), prec, rec


def bench_html() -> None:
    from datamill.steps.clean.html import selectolax_text, trafilatura_text

    folder = CORPORA / "8_html_article_benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text())
    pages = [(k, gzip.decompress((folder / f"{k}.html.gz").read_bytes()).decode("utf-8", "replace"))
             for k in truth if (folder / f"{k}.html.gz").exists()]
    trafilatura_text("<html><body><p>warm up</p></body></html>")
    print(f"\n### HTML extraction ({len(pages)} pages with ground truth)\n")
    print("| extractor | F1 | precision | recall | pages/s |\n|---|---:|---:|---:|---:|")
    for name, fn in (("trafilatura", trafilatura_text), ("selectolax", selectolax_text)):
        t = time.perf_counter()
        scores = [f1(fn(html), truth[k]["articleBody"]) for k, html in pages]
        dt = time.perf_counter() - t
        avg = [sum(s[i] for s in scores) / len(scores) for i in range(3)]
        print(f"| {name} | {avg[0]:.3f} | {avg[1]:.3f} | {avg[2]:.3f} | {len(pages) / dt:.1f} |")


def lines(path: Path, key: str | None, n: int) -> list[str]:
    out: list[str] = []
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        out = [str(r[key]) for r in data]
    else:
        for line in path.open(encoding="utf-8"):
            text = json.loads(line)[key] if key else line.strip()
            out.append(str(text))
    return [s for s in out if len(s.strip()) >= 4][:n]


def bench_lang() -> None:
    from datamill.steps.filters.lang_id import LangId, LangIdParams

    sample = ([(s, "zh") for s in lines(CORPORA / "2_llamafactory/alpaca_zh_demo.json", "instruction", 150)]
              + [(s, "zh") for s in lines(CORPORA / "8_medicalgpt_pretrain/fever.txt", None, 50)]
              + [(s, "en") for s in lines(CORPORA / "2_llamafactory/alpaca_en_demo.json", "instruction", 150)]
              + [(s, "en") for s in lines(CORPORA / "8_medicalgpt_pretrain/en_article_tail500.txt", None, 50)]
              + [(s, "ja") for s in JA])
    step = LangId(LangIdParams(languages=["zh", "en", "ja"]))
    step.setup()
    print(f"\n### Language ID (lingua, languages zh/en/ja, {len(sample)} labelled texts)\n")
    print("| language | texts | accuracy |\n|---|---:|---:|")
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    t = time.perf_counter()
    for text, label in sample:
        total[label] += 1
        right[label] += step.identify(text)[0] == label
    dt = time.perf_counter() - t
    for lang in ("zh", "en", "ja"):
        print(f"| {lang} | {total[lang]} | {right[lang] / total[lang]:.3f} |")
    print(f"| all | {sum(total.values())} | {sum(right.values()) / sum(total.values()):.3f} |")
    print(f"\n{len(sample) / dt:.0f} texts/s in one process.")


STEPS: list[tuple[str, dict[str, Any]]] = [
    ("html_to_text", {}), ("html_to_text", {"extractor": "selectolax"}), ("fix_unicode", {}), ("normalize", {}),
    ("remove_patterns", {}), ("chinese_convert", {}), ("mask_pii", {}), ("standardize", {}),
    ("lang_id", {}), ("length", {}), ("length", {"unit": "words"}), ("repetition", {}), ("special_chars", {}),
    ("blocklist", {"words": ["赌博", "casino", "viagra"]}), ("empty_answer", {}), ("prompt_equals_answer", {}),
    ("refusal", {}), ("score_threshold", {"score": "quality", "min": 0, "missing": "keep"}),
]


def _run(args: tuple[str, dict[str, Any], list[dict[str, Any]]]) -> int:
    name, params, records = args
    cls = default_registry().get(name)
    step: RowStep[Any] = cls(cls.Params.model_validate(params))  # type: ignore[assignment]
    step.setup()
    return sum(1 for r in records if not isinstance(step.process(r), Drop))


def sft_records(n: int) -> list[dict[str, Any]]:
    rows = (json.loads((CORPORA / "2_llamafactory/alpaca_zh_demo.json").read_text(encoding="utf-8"))
            + json.loads((CORPORA / "2_llamafactory/alpaca_en_demo.json").read_text(encoding="utf-8")))
    out = []
    for i in range(n):
        r = rows[i % len(rows)]
        out.append({"id": f"b:{i}", "kind": "sft", "messages": [
            {"role": "user", "content": r["instruction"] + ("\n" + r["input"] if r["input"] else "")},
            {"role": "assistant", "content": r["output"]}]})
    return out


def bench_throughput(n: int) -> None:
    import copy

    records = sft_records(n)
    halves = [records[: n // 2], records[n // 2:]]
    print(f"\n### Throughput ({n} zh/en Alpaca SFT records, 2 worker processes, step setup included)\n")
    print("| step | params | records/s |\n|---|---|---:|")
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_run, [("length", {}, halves[0][:10])] * 2))  # start the workers
        for name, params in STEPS:
            t = time.perf_counter()
            list(pool.map(_run, [(name, params, copy.deepcopy(h)) for h in halves]))
            dt = time.perf_counter() - t
            print(f"| {name} | {json.dumps(params, ensure_ascii=False) if params else ''} | {n / dt:,.0f} |")


def bench_arith() -> None:
    from datamill.steps.augment.arith import solve

    rows = [json.loads(line) for line in (CORPORA / "4_ascend_arith_zh/test-v2.json").open(encoding="utf-8")]
    t = time.perf_counter()
    for r in rows:
        solve(r["problem"])
    print(f"\narith solve: {len(rows) / (time.perf_counter() - t):,.0f} problems/s in one process")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=4000)
    args = parser.parse_args()
    bench_html()
    bench_lang()
    bench_throughput(args.records)
    bench_arith()


if __name__ == "__main__":
    main()
