from __future__ import annotations

import json
from pathlib import Path

import pytest

from datamill.llm import batch
from datamill.llm.cache import LLMCache
from datamill.llm.client import LLMClient
from datamill.llm.config import LLMConfig
from datamill.llm.errors import LLMCallError
from datamill.llm.request import ChatRequest

from .conftest import ScriptedProvider


def req(i: int, model: str = "m") -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": f"q{i}"}], model=model, max_tokens=16, temperature=0)


def client(provider: ScriptedProvider, tmp_path: Path, **cfg: object) -> LLMClient:
    config = LLMConfig.model_validate({"model": "m", **cfg})
    return LLMClient(config, LLMCache(tmp_path / "llm.sqlite"), provider=provider, sleep=lambda s: None)


def test_cache_resume_and_duplicates_in_one_batch(tmp_path: Path) -> None:
    provider = ScriptedProvider(lambda r: "A:" + r.messages[0]["content"])
    c = client(provider, tmp_path, concurrency=4)
    results = c.run([req(1), req(2), req(1)])
    assert [r.text for r in results] == ["A:q1", "A:q2", "A:q1"]
    assert len(provider.calls) == 2  # the duplicate request is sent once
    c.close()
    again = client(provider, tmp_path)  # a new process: the SQLite cache answers
    assert [r.text for r in again.run([req(1), req(2), req(3)])] == ["A:q1", "A:q2", "A:q3"]
    assert len(provider.calls) == 3
    assert again.progress.snapshot()["cached"] == 2


def test_retries_429_and_5xx_but_not_4xx(tmp_path: Path) -> None:
    errors = [LLMCallError("429", "slow down", retryable=True, retry_after=2.0),
              LLMCallError("5xx", "boom", retryable=True)]
    provider = ScriptedProvider(lambda r: "ok", errors)
    c = client(provider, tmp_path, concurrency=1)
    assert c.run([req(1)])[0].text == "ok"
    assert c.progress.errors == {"429": 1, "5xx": 1}
    assert c.limiter.slow > 1.0  # adaptive slow-down after the 429
    provider.errors = [LLMCallError("http_400", "bad request", retryable=False)]
    res = c.run([req(2)])[0]
    assert res.error == "http_400" and not res.ok
    c2 = client(ScriptedProvider(lambda r: "x", [LLMCallError("5xx", "e", retryable=True)] * 3), tmp_path / "b",
                max_retries=2)
    assert c2.run([req(9)])[0].error == "5xx"


def test_budget_is_a_hard_stop(tmp_path: Path) -> None:
    provider = ScriptedProvider(lambda r: "ok")
    c = client(provider, tmp_path, budget={"max_calls": 3}, concurrency=4)
    results = c.run([req(i) for i in range(6)])
    assert sum(r.ok for r in results) == 3
    assert sorted(r.error for r in results if not r.ok) == ["budget"] * 3
    assert len(provider.calls) == 3


def _bedrock_out(lines: list[dict[str, object]], path: Path) -> None:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_bedrock_batch_round_trip_resubmits_only_failed(tmp_path: Path) -> None:
    requests = [req(i, "anthropic.claude") for i in range(6)]
    c1 = LLMClient(LLMConfig(model="anthropic.claude", provider="bedrock-batch"), LLMCache(tmp_path / "c.sqlite"),
                   label="judge", batch_dir=tmp_path / "batch")
    first = c1.run(requests)
    assert {r.error for r in first} == {"batch_pending"}
    written = [json.loads(x) for x in Path(c1.batch_inputs[0]).read_text().splitlines()]
    assert [w["recordId"] for w in written] == [r.key() for r in requests]
    assert written[0]["modelInput"]["messages"][0]["content"][0]["text"] == "q0"
    # the provider answers out of order; record 2 failed, record 5 is missing
    out = []
    for w in reversed(written):
        if w["recordId"] == requests[5].key():
            continue
        if w["recordId"] == requests[2].key():
            out.append({**w, "error": {"errorCode": 400, "errorMessage": "throttled"}})
        else:
            text = "ans-" + w["modelInput"]["messages"][0]["content"][0]["text"]
            out.append({**w, "modelOutput": {"content": [{"type": "text", "text": text}],
                                             "usage": {"input_tokens": 3, "output_tokens": 2}}})
    _bedrock_out(out, tmp_path / "part-0.jsonl.out")
    c2 = LLMClient(LLMConfig(model="anthropic.claude", provider="bedrock-batch",
                             batch_output=[str(tmp_path / "*.jsonl.out")]),
                   LLMCache(tmp_path / "c.sqlite"), label="judge", batch_dir=tmp_path / "batch")
    second = c2.run(requests)
    assert [r.text for r in second[:2]] == ["ans-q0", "ans-q1"]
    assert second[2].error == "batch_failed" and second[5].error == "batch_pending"
    resubmit = [json.loads(x)["recordId"] for x in Path(c2.batch_inputs[0]).read_text().splitlines()]
    assert resubmit == [requests[2].key(), requests[5].key()]


def test_openai_batch_output_is_joined_on_custom_id(tmp_path: Path) -> None:
    r = req(1)
    line = batch.input_line(r, "openai-batch")
    assert line["custom_id"] == r.key() and line["body"]["messages"] == r.messages
    rows = [{"id": "b1", "custom_id": r.key(), "error": None, "response": {"status_code": 200, "body": {
        "choices": [{"message": {"content": "hello"}}], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}}},
        {"id": "b2", "custom_id": "other", "error": {"message": "expired"}, "response": None}]
    (tmp_path / "out.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))
    got = {x.record_id: x for x in batch.read_output(str(tmp_path / "out.jsonl"))}
    assert got[r.key()].text == "hello" and got["other"].error == "expired"


def test_bedrock_converse_with_stubber() -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.stub import Stubber

    from datamill.llm.providers.bedrock import BedrockProvider

    raw = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    provider = BedrockProvider(LLMConfig(model="amazon.nova-lite-v1:0", provider="bedrock"), client=raw)
    r = ChatRequest(messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                    model="amazon.nova-lite-v1:0", max_tokens=20, temperature=0)
    with Stubber(raw) as stub:
        stub.add_response("converse", {
            "output": {"message": {"role": "assistant", "content": [{"text": "hello"}]}},
            "stopReason": "end_turn", "usage": {"inputTokens": 4, "outputTokens": 1, "totalTokens": 5},
            "metrics": {"latencyMs": 10}},
            {"modelId": "amazon.nova-lite-v1:0", "messages": [{"role": "user", "content": [{"text": "hi"}]}],
             "system": [{"text": "be brief"}], "inferenceConfig": {"maxTokens": 20, "temperature": 0}})
        stub.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
        res = provider.complete(r)
        assert (res.text, res.input_tokens, res.output_tokens) == ("hello", 4, 1)
        with pytest.raises(LLMCallError) as info:
            provider.complete(r)
        assert info.value.kind == "429" and info.value.retryable
