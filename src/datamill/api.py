"""The Python API: run a recipe from code and get its summary and output files back.

```python
import datamill

result = datamill.run("recipes/demo.yaml", workdir="runs/demo")
result.totals          # {"read": 271, "written": 200, "dropped": {...}, "quarantined": 3}
result.files           # [Path("runs/demo/export/train.jsonl"), ...]
result.summary         # everything summary.json holds
```

A recipe is a file path or a dict (what the YAML would hold; relative input paths resolve against
``base_dir``, default the current folder). Errors are :class:`datamill.errors.DatamillError` subclasses
with ``message``, ``hint`` and ``exit_code`` (a stage that loses all of its input raises
:class:`~datamill.errors.DataLossError`). Runs in one process are independent: each builds its own step
instances and tears them down at its end, so two runs never share caches, contexts or files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunResult:
    """What a run left: its ``summary.json`` content, its work directory and the files its outputs wrote."""

    summary: dict[str, Any]
    workdir: Path | str  # a URL (str) when the work directory is remote

    @property
    def totals(self) -> dict[str, Any]:
        """``{"read", "written", "dropped": {reason: n}, "quarantined"}`` (and ``generated`` when > 0)."""
        totals: dict[str, Any] = self.summary["totals"]
        return totals

    @property
    def files(self) -> list[str]:
        """Every data file written by the outputs, in output order (local paths or URLs)."""
        return [f["path"] for output in self.summary["outputs"] for f in output.get("files", [])]


def run(
    recipe: str | Path | Mapping[str, Any],
    workdir: str | Path | None = None,
    *,
    base_dir: str | Path | None = None,
    overrides: Sequence[str] = (),
    fresh: bool = False,
    workers: int | None = None,
    executor: str | None = None,
    address: str | None = None,
) -> RunResult:
    """Run (or resume) ``recipe`` in ``workdir`` (default ``runs/<recipe name>``) and return the result.

    ``overrides`` are ``--set`` expressions (``steps[0].params.seed=1``); ``fresh`` starts over instead of
    resuming; ``workers`` defaults to the recipe's executor setting, then to the number of CPU cores;
    ``executor`` (``local``/``ray``) and ``address`` (a Ray cluster) override the recipe's ``executor:``.
    ``workdir`` may be an fsspec URL (``s3://bucket/runs/x``) that every node of a cluster shares.
    """
    from datamill.exec.run import run_recipe
    from datamill.recipe.load import load_recipe, load_recipe_data

    if isinstance(recipe, Mapping):
        loaded = load_recipe_data(dict(recipe), Path(base_dir) if base_dir is not None else Path.cwd(),
                                  list(overrides))
    else:
        loaded = load_recipe(recipe, overrides=list(overrides))
    where: Path | str = Path("runs") / loaded.recipe.name if workdir is None else \
        str(workdir) if "://" in str(workdir) else Path(workdir)
    summary = run_recipe(loaded, where, fresh=fresh, workers=workers, executor=executor, address=address)
    return RunResult(summary=summary, workdir=where)
