"""Write the demo data that ships in recipes/demo-data/ (deterministic; run to regenerate).

A few hundred records in four formats (Alpaca JSON array, ShareGPT JSONL, OpenAI-messages JSONL.gz,
CSV with a BOM), with exact duplicates across files, HTML debris, mixed Chinese/English, empty
answers and a few broken lines - the things a new user's data has.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "recipes" / "demo-data"

CITIES = [
    ("France", "Paris", "法国", "巴黎"), ("Japan", "Tokyo", "日本", "东京"), ("Italy", "Rome", "意大利", "罗马"),
    ("Egypt", "Cairo", "埃及", "开罗"), ("Canada", "Ottawa", "加拿大", "渥太华"), ("Kenya", "Nairobi", "肯尼亚", "内罗毕"),
    ("Peru", "Lima", "秘鲁", "利马"), ("Norway", "Oslo", "挪威", "奥斯陆"), ("Spain", "Madrid", "西班牙", "马德里"),
    ("Chile", "Santiago", "智利", "圣地亚哥"), ("Greece", "Athens", "希腊", "雅典"), ("India", "New Delhi", "印度", "新德里"),
]
WORDS = [
    ("good morning", "早上好"), ("thank you", "谢谢"), ("see you tomorrow", "明天见"), ("how are you", "你好吗"),
    ("the weather is nice today", "今天天气很好"), ("I like reading books", "我喜欢读书"),
    ("where is the station", "车站在哪里"), ("happy birthday", "生日快乐"), ("please sit down", "请坐"),
    ("the meeting starts at nine", "会议九点开始"),
]
TIPS = [
    ("How can I sleep better?", "Keep a regular schedule, avoid screens an hour before bed, and keep the room cool and dark."),
    ("How do I start running?", "Begin with short run-walk intervals three times a week and increase the time slowly."),
    ("怎样提高记忆力？", "保证充足睡眠，定期复习，把新知识和已有的知识联系起来，并适当运动。"),
    ("如何养成阅读习惯？", "每天固定一个时间读二十分钟，从感兴趣的书开始，并记录读后的想法。"),
    ("What is a good way to learn vocabulary?", "Use spaced repetition and learn words in context rather than in isolated lists."),
    ("如何缓解工作压力？", "合理安排任务优先级，工作间隙适当休息，下班后做一些让自己放松的运动。"),
]
HTML_WRAPS = ["<p>{}</p>", "<div class=\"answer\">{}<br/></div>", "{}&nbsp;<span>广告：点击领取优惠券</span>",
              "<b>{}</b>"]


def alpaca(rng: random.Random) -> list[dict]:
    rows: list[dict] = []
    for a in range(2, 40):
        b = rng.randint(2, 99)
        if a % 2:
            rows.append({"instruction": f"计算 {a} + {b} 等于多少？", "input": "", "output": f"{a} + {b} = {a + b}"})
        else:
            rows.append({"instruction": f"What is {a} times {b}?", "input": "", "output": f"{a} × {b} = {a * b}"})
    for en, zh in WORDS:
        rows.append({"instruction": "Translate the sentence into Chinese.", "input": en, "output": zh})
        rows.append({"instruction": "把这句话翻译成英文。", "input": zh, "output": en[0].upper() + en[1:] + "."})
    for country, capital, zc, zcap in CITIES:
        rows.append({"instruction": f"What is the capital of {country}?", "input": "",
                     "output": f"The capital of {country} is {capital}."})
        rows.append({"instruction": f"{zc}的首都是哪里？", "input": "", "output": f"{zc}的首都是{zcap}。"})
    for i, (q, a) in enumerate(TIPS):
        wrap = HTML_WRAPS[i % len(HTML_WRAPS)]
        rows.append({"instruction": q, "input": "", "output": wrap.format(a)})
    rows.append({"instruction": "Write a haiku about autumn.", "input": "", "output": ""})  # empty answer
    rows.append({"instruction": "请介绍一下你自己。", "input": "", "output": "我是一个AI助手。", "system": "你是一个乐于助人的助手。"})
    rows.extend(json.loads(json.dumps(rows[:8])))  # exact duplicates inside the file
    return rows


def sharegpt(rng: random.Random, alpaca_rows: list[dict]) -> list[bytes]:
    lines: list[bytes] = []
    for i, (country, capital, zc, zcap) in enumerate(CITIES):
        conv = [
            {"from": "human", "value": f"Tell me about {country}."},
            {"from": "gpt", "value": f"{country} is a country whose capital is {capital}."},
            {"from": "human", "value": "用中文再说一遍。"},
            {"from": "gpt", "value": f"{zc}是一个国家，首都是{zcap}。"},
        ]
        lines.append(json.dumps({"id": f"chat-{i}", "conversations": conv}, ensure_ascii=False).encode())
    for i, row in enumerate(alpaca_rows[:30]):  # the same prompt/answer as the Alpaca file: cross-file dups
        prompt = row["instruction"] + ("\n" + row["input"] if row["input"] else "")
        conv = [{"from": "human", "value": prompt}, {"from": "gpt", "value": row["output"]}]
        lines.append(json.dumps({"id": f"dup-{i}", "conversations": conv}, ensure_ascii=False).encode())
    for n in range(20):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        conv = [{"from": "system", "value": "You are a careful math tutor."},
                {"from": "human", "value": f"{a} - {b} = ?"},
                {"from": "gpt", "value": f"{a} - {b} = {a - b}"}]
        lines.append(json.dumps({"id": f"math-{n}", "conversations": conv}, ensure_ascii=False).encode())
    lines.insert(5, b'{"id": "broken-1", "conversations": [{"from": "human", "value": "truncated')
    lines.insert(9, b"[1, 2, 3]")
    lines.insert(14, b'{"id": "bad-bytes", "conversations": [{"from": "human", "value": "\xff\xfe oops"}]}')
    lines.insert(20, "".join(["{\"id\": \"gbk-1\", \"conversations\": [{\"from\": \"human\", \"value\": \"你好\"}, ",
                              "{\"from\": \"gpt\", \"value\": \"你好！有什么可以帮你？\"}]}"]).encode("gbk"))
    lines.insert(25, b"")
    return lines


def openai_rows(rng: random.Random) -> list[dict]:
    rows = []
    for i, (q, a) in enumerate(TIPS * 3):
        system = "You are a helpful assistant." if i % 2 else "你是一个乐于助人的助手。"
        rows.append({"messages": [{"role": "system", "content": system}, {"role": "user", "content": q},
                                  {"role": "assistant", "content": a}]})
    for en, zh in WORDS:
        rows.append({"messages": [{"role": "user", "content": f"\"{en}\" 用中文怎么说？"},
                                  {"role": "assistant", "content": f"“{en}”的中文是“{zh}”。"}]})
    for _ in range(24):
        x = rng.randint(2, 30)
        rows.append({"messages": [{"role": "user", "content": f"What is the square of {x}?"},
                                  {"role": "assistant", "content": f"{x}² = {x * x}"}]})
    return rows


def csv_rows() -> list[tuple[str, str]]:
    rows = [(f"Spell the number {n} in English.", w) for n, w in
            enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])]
    rows += [(f"数字 {n} 的中文大写是什么？", w) for n, w in
             enumerate(["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"])]
    rows += [(f"Is {n} even or odd?", "even" if n % 2 == 0 else "odd") for n in range(10, 40)]
    rows += rows[:5]  # duplicates
    return rows


def main() -> None:
    rng = random.Random(20261121)
    OUT.mkdir(parents=True, exist_ok=True)
    al = alpaca(rng)
    (OUT / "alpaca_mixed.json").write_text(json.dumps(al, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (OUT / "chat_sharegpt.jsonl").write_bytes(b"\r\n".join(sharegpt(rng, al)) + b"\r\n")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in openai_rows(rng)).encode())
    (OUT / "messages_openai.jsonl.gz").write_bytes(buf.getvalue())
    with open(OUT / "qa_pairs.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "answer"])
        w.writerows(csv_rows())


if __name__ == "__main__":
    main()
