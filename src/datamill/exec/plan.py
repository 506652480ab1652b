"""Which stages run together: the recipe's stages grouped into *segments* that run in one pass per shard.

Stage 0 is the read; stage ``i`` is ``steps[i - 1]``. A segment starts at a *head* and runs every
following row step in the same pass over each shard, so a record is decoded once and encoded once per
segment, not once per step:

* ``read``: the input files (or byte ranges of big files) are parsed and mapped to canonical records;
* ``shards``: the stored output of the stage before the segment is decoded;
* ``apply``: a global step's apply phase (stage ``start``) over the stored output of the stage before it.

Records are stored (*materialized*) only at a segment's last stage: before a global step (whose
signature phase runs as the segment's tail, on the records as they are written), before a step that
must run alone (LLM steps share one rate limiter in one process), before a step whose output depends on
something outside the recipe (``Step.starts_segment``: review decisions, so that new decisions re-run
only that step and what follows), where a step says ``checkpoint: true``, and at the last stage (the
outputs read it). Every stage of a segment still writes its own stats,
dropped records and quarantine, so nothing about what a user sees per step changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from datamill.steps.base import GlobalStep, RowStep, Step

Head = Literal["read", "shards", "apply"]


@dataclass(frozen=True)
class Segment:
    """Stages ``start..stop`` (inclusive) run in one pass per shard; ``stop``'s output is stored.

    ``signature_for`` is the global step right after ``stop`` whose signatures the segment's tail
    computes from the records it stores (None when the next stage is not a global step).
    """

    head: Head
    start: int
    stop: int
    signature_for: int | None = None

    @property
    def stages(self) -> range:
        return range(self.start, self.stop + 1)

    @property
    def row_steps(self) -> range:
        """The stages whose row step runs in the segment's pass (all but an ``apply`` or ``read`` head)."""
        return range(self.start + 1 if self.head in ("read", "apply") else self.start, self.stop + 1)


def fusable(step: Step, checkpoint: bool) -> bool:
    """A row step that can share a pass with the stages before it."""
    return isinstance(step, RowStep) and not runs_alone(step) and not checkpoint


def runs_alone(step: Step) -> bool:
    """A step that runs in a segment of its own: capped processes, or one rate limit for all its calls."""
    return step.max_workers is not None or step.shared_limits


def build_segments(steps: list[Step], checkpoints: list[bool]) -> list[Segment]:
    """Group stage 0 (read) and ``steps`` (stages 1..n) into segments, in order."""
    n = len(steps)
    segments: list[Segment] = []
    start = 0
    head: Head = "read"
    while True:
        stop = start
        # a head that is a global step's apply, or the read, may be followed by fusable row steps; a
        # ``shards`` head is itself a row step (one that must run alone, or that follows a checkpoint)
        alone = head == "shards" and not fusable(steps[start - 1], False)
        ends_here = head != "read" and checkpoints[start - 1]
        if not alone and not ends_here:
            while stop < n and fusable(steps[stop], checkpoints[stop]) and not steps[stop].starts_segment:
                stop += 1
            if stop < n and isinstance(steps[stop], RowStep) and checkpoints[stop] and not runs_alone(steps[stop]) \
                    and not steps[stop].starts_segment:
                stop += 1  # a checkpointed row step still runs in the pass, and ends it
        nxt = stop + 1
        signature_for = nxt if nxt <= n and isinstance(steps[nxt - 1], GlobalStep) else None
        segments.append(Segment(head, start, stop, signature_for))
        if nxt > n:
            return segments
        start = nxt
        head = "apply" if isinstance(steps[nxt - 1], GlobalStep) else "shards"
