"""Parameters every dedup step shares: ``on``, ``normalize``, ``keep``, ``top_clusters``."""

from __future__ import annotations

from pydantic import Field

from datamill.records import Record
from datamill.selectors import On, Selector, names, texts_by_name
from datamill.steps.base import Params
from datamill.steps.dedup.keep import KeepParams
from datamill.steps.dedup_exact import Normalize, normalize_text


class DedupParams(Params):
    on: Selector = Field(
        default="prompt",
        description="what is compared: a part (prompt, answer, prompt+answer, turns, text ...), a field path "
        "(meta.title) or a list of them",
    )
    keep: KeepParams = Field(default=KeepParams(), description="which record of a group stays (survivor policy)")
    top_clusters: int = Field(default=500, ge=0, description="how many of the largest groups go to clusters.json")


def parts_of(on: On) -> list[str]:
    """``prompt+answer`` -> [prompt, answer]; a list of names as it is; one name alone."""
    return names(on)


def compared_text(record: Record, parts: list[str], normalize: Normalize | None) -> str:
    """The text a dedup step compares: the parts (normalized when asked), joined by newlines."""
    texts = texts_by_name(record, parts)
    if normalize is not None:
        texts = [normalize_text(t, normalize) for t in texts]
    return "\n".join(t for t in texts if t)
