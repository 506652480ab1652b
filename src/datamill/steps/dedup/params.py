"""Parameters every dedup step shares: ``on``, ``normalize``, ``keep``, ``top_clusters``."""

from __future__ import annotations

from pydantic import Field, field_validator

from datamill.records import Record, part_text
from datamill.steps.base import Params
from datamill.steps.dedup.keep import KeepParams
from datamill.steps.dedup_exact import Normalize, normalize_text


class DedupParams(Params):
    on: str | list[str] = Field(
        default="prompt",
        description="what is compared: prompt, answer, prompt+answer, conversation, text, or field paths",
    )
    keep: KeepParams = Field(default=KeepParams(), description="which record of a group stays (survivor policy)")
    top_clusters: int = Field(default=500, ge=0, description="how many of the largest groups go to clusters.json")

    @field_validator("on")
    @classmethod
    def _on(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("give at least one part or field")
        if any(not p for p in ([v] if isinstance(v, str) else v)):
            raise ValueError("empty part or field name")
        return v


def parts_of(on: str | list[str]) -> list[str]:
    """``prompt+answer`` -> [prompt, answer]; a list of fields as it is; one part alone."""
    return list(on) if isinstance(on, list) else on.split("+") if on == "prompt+answer" else [on]


def compared_text(record: Record, parts: list[str], normalize: Normalize | None) -> str:
    """The text a dedup step compares: the parts (normalized when asked), joined by newlines."""
    texts = [part_text(record, p) for p in parts]
    if normalize is not None:
        texts = [normalize_text(t, normalize) for t in texts]
    return "\n".join(t for t in texts if t)
