"""Shared fixtures. Each block is self-contained; append new fixtures below the existing ones.

* ``corpora``: the real data in ``../shared/corpora`` (skips with a message when it is absent).
* ``s3_server`` / ``s3``: a real local S3 (``moto_server`` as a subprocess) with the AWS environment
  pointed at it, and a fresh bucket per test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.servers import free_port, stop, wait_until_up

# --- real corpora -----------------------------------------------------------------------------------

_DEFAULT_CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
CORPORA_DIR = Path(os.environ.get("DATAMILL_CORPORA") or _DEFAULT_CORPORA)


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The read-only real corpora folder (with its MANIFEST.md); never copy files from it into the repo."""
    if not (CORPORA_DIR / "MANIFEST.md").is_file():
        pytest.skip(f"real corpora not found at {CORPORA_DIR} (set DATAMILL_CORPORA to run these tests)")
    return CORPORA_DIR


# --- local S3 (moto_server) -------------------------------------------------------------------------


def _moto_server_command() -> list[str] | None:
    local = Path(sys.executable).parent / "moto_server"
    found = str(local) if local.exists() else shutil.which("moto_server")
    return [found] if found else None


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``moto_server`` on a free port for the whole session; yields its endpoint URL."""
    command = _moto_server_command()
    if command is None:
        pytest.skip("moto_server not installed (pip install 'moto[server]')")
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen([*command, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, endpoint, 30, "moto_server", log.name)
        yield endpoint
    finally:
        stop(process)
        log.close()


@dataclass
class S3Bucket:
    """A fresh bucket on the local S3 server, with the environment pointed at it."""

    endpoint: str
    bucket: str
    client: Any

    def put(self, key: str, data: bytes) -> str:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"


def _clear_s3fs_cache() -> None:
    try:
        import s3fs
    except ImportError:  # pragma: no cover - s3fs is a dev dependency
        return
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[S3Bucket]:
    """Point AWS_* at the local server (credentials ``testing``) and create an empty bucket."""
    boto3 = pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # keep a developer's own AWS configuration out of the tests
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config-absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials-absent"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    _clear_s3fs_cache()
    client = boto3.client("s3", endpoint_url=s3_server)
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    yield S3Bucket(s3_server, bucket, client)
    _clear_s3fs_cache()


# --- a real browser (chromium via Playwright) -------------------------------------------------------
# one session-wide instance: Playwright's sync API allows one per thread (see fixtures/browser.py)
from fixtures.browser import browser  # noqa: E402, F401 - a fixture
