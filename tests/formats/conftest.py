"""Shared helpers for the format adapter tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from datamill.formats import AdapterConfig, get_adapter
from datamill.formats.canonical import CanonicalAdapter
from datamill.records import Record

Convert = Callable[..., Record]


def to_canonical(name: str, row: Mapping[str, Any], **config: Any) -> Record:
    """Convert ``row`` with adapter ``name`` and check the result is a valid canonical record."""
    record = get_adapter(name, AdapterConfig(**config)).to_record(row)
    assert CanonicalAdapter().to_record(record) == record, "adapter output must be canonical"
    assert not {"id", "source", "source_id"} & set(record), "provenance is the ingest stage's job"
    return record


@pytest.fixture
def convert() -> Convert:
    return to_canonical
