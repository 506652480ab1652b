"""Fixtures of the dedup tests: a small planted corpus (exact and near duplicates, zh + en)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from datamill.records import Record

WORDS = """
data model train fine tune prompt answer quality filter shard record token
window batch learning rate optimizer schedule gradient loss metric eval split sample
seed cluster graph vector index search query cache memory disk speed scale
""".split()  # noqa: SIM905
HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    "同工也能下过子说产种面而方后多定行学法所民得经"
)


def en_text(rng: random.Random, n: int = 40) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def zh_text(rng: random.Random, n: int = 40) -> str:
    return "".join(rng.choice(HAN) for _ in range(n))


def near_en(rng: random.Random, text: str) -> str:
    words = text.split()
    words[rng.randrange(len(words))] = rng.choice(WORDS)  # one word changed
    return " ".join(words)


def near_zh(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text))
    return text[:i] + rng.choice(HAN) + text[i + 1:]


def make_planted(n: int = 100, seed: int = 7) -> tuple[list[Record], dict[str, str]]:
    """``n`` originals (half zh), each with 0-2 near copies; returns (records, {copy id: original id})."""
    rng = random.Random(seed)
    records: list[Record] = []
    truth: dict[str, str] = {}
    for i in range(n):
        zh = i % 2 == 0
        text = zh_text(rng) if zh else en_text(rng)
        oid = f"o{i}"
        records.append({"id": oid, "source": "zh" if zh else "en", "kind": "sft",
                        "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "a"}]})
        for j in range(i % 3):
            copy = near_zh(rng, text) if zh else near_en(rng, text)
            cid = f"o{i}-c{j}"
            truth[cid] = oid
            records.append({"id": cid, "source": "zh" if zh else "en", "kind": "sft",
                            "messages": [{"role": "user", "content": copy}, {"role": "assistant", "content": "b"}]})
    rng.shuffle(records)
    return records, truth


@pytest.fixture
def planted() -> tuple[list[Record], dict[str, str]]:
    """100 originals (half zh), each with 0-2 near copies; returns (records, {copy id: original id})."""
    return make_planted()


def word_vector(text: str, dim: int = 64) -> list[float]:
    """A deterministic bag-of-words vector: one seeded random direction per lowercased word, summed."""
    import numpy as np
    import xxhash

    v = np.zeros(dim)
    for w in text.lower().split():
        v += np.random.default_rng(xxhash.xxh64_intdigest(w.encode())).normal(size=dim)
    return [float(x) for x in v]


@pytest.fixture
def embeddings_server() -> Iterator[dict[str, Any]]:
    """An OpenAI-compatible ``POST /v1/embeddings`` on 127.0.0.1 returning :func:`word_vector`s.

    Yields {url, requests}: every request's model, input size and Authorization header is recorded.
    """
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"path": self.path, "model": body["model"], "n": len(body["input"]),
                             "auth": self.headers.get("Authorization")})
            if self.path != "/v1/embeddings":
                self.send_response(404)
                self.end_headers()
                return
            data = [{"object": "embedding", "index": i, "embedding": word_vector(t)}
                    for i, t in enumerate(body["input"])]
            data.reverse()  # servers may answer out of order: the client sorts by index
            payload = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}/v1", "requests": requests}
    finally:
        server.shutdown()
        server.server_close()
