"""What a record is, as far as a trainer's file is concerned: sft, preference, kto or pretrain.

A trainer reads one shape per file (LLaMA-Factory's ``ranking``/``kto_tag`` are per dataset, TRL's
dataset type is per dataset), so an exporter writes one mode per output. ``mode: auto`` takes the mode
of the first record the exporter sees (records arrive in a deterministic order) and refuses records of
another mode with the reason ``mode_mismatch`` rather than writing rows the trainer would misread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from datamill.formats.messages import KTO_LABEL
from datamill.records import Record
from datamill.steps.base import Drop

Mode = Literal["sft", "preference", "kto", "pretrain"]
ModeOption = Literal["auto", "sft", "preference", "kto", "pretrain"]


def record_mode(record: Mapping[str, Any]) -> Mode:
    """The trainer shape of ``record``: KTO (a boolean ``scores.kto_label``), preference (a pair or a
    tie), pretrain (``text`` and no conversation), else sft (sft, chat and cot records alike)."""
    if isinstance((record.get("scores") or {}).get(KTO_LABEL), bool) and "chosen" not in record:
        return "kto"
    if "chosen" in record or record.get("tie") or record.get("kind") == "preference":
        return "preference"
    if record.get("kind") == "pretrain" or (record.get("text") is not None and not record.get("messages")):
        return "pretrain"
    return "sft"


class ModeLock:
    """Decides an output's mode (fixed, or from the first record) and refuses the others."""

    def __init__(self, option: ModeOption, supported: tuple[Mode, ...]) -> None:
        self.supported = supported
        self.mode: Mode | None = None if option == "auto" else option
        if self.mode is not None and self.mode not in supported:
            raise ValueError(f"mode '{self.mode}' is not supported (supported: {', '.join(supported)})")

    def check(self, record: Record) -> Mode | Drop:
        mode = record_mode(record)
        if self.mode is None:
            if mode not in self.supported:
                return Drop("unsupported_mode", {"mode": mode, "supported": list(self.supported)})
            self.mode = mode
        if mode != self.mode:
            return Drop("mode_mismatch", {"record_mode": mode, "output_mode": self.mode})
        return mode

    @property
    def resolved(self) -> Mode:
        """The output's mode; ``sft`` when no record was seen (an empty output)."""
        return self.mode or self.supported[0]
