"""The cluster's LLM hub without Ray (its logic is plain Python): claims make a request paid once, the
limiter spaces every worker's calls as one process's limiter would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datamill.llm.request import ChatRequest, ChatResult
from datamill.llm.shared import LLMHub, SharedCache, SharedLimiter


def _call(hub: LLMHub) -> Any:
    return lambda method, *args: getattr(hub, method)(*args)


def test_a_claimed_request_waits_for_its_payer_and_is_then_served_from_the_cache(tmp_path: Path) -> None:
    hub = LLMHub()
    a = SharedCache(_call(hub), tmp_path / "llm.sqlite", owner="a")
    b = SharedCache(_call(hub), tmp_path / "llm.sqlite", owner="b")
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], model="m", max_tokens=8, temperature=0.0)
    key = request.key()
    assert a.claim(key) is True  # a pays
    assert b.claim(key) is False  # b must not pay the same call meanwhile
    a.put(request, ChatResult(key=key, text="hello", input_tokens=1, output_tokens=1))
    hit = b.claim(key)
    assert isinstance(hit, ChatResult) and hit.text == "hello" and hit.cached
    other = "other-key"
    assert a.claim(other) is True
    a.release(other)  # the call failed: the next asker may pay
    assert b.claim(other) is True
    hub.close()


def test_workers_share_one_spacing(tmp_path: Path) -> None:
    hub = LLMHub()
    slept: list[float] = []
    workers = [SharedLimiter(_call(hub), "server", 600, None, sleep=slept.append) for _ in range(2)]
    for _ in range(5):
        for w in workers:
            w.acquire()
    # 10 calls at 600 rpm from two workers: one slot every 0.1 s for both together, no burst
    assert len(slept) >= 9 and max(slept) >= 0.8
