"""datamill: turn raw, messy data into training-ready datasets for LLM fine-tuning.

``import datamill`` is cheap: heavy packages (torch, datasets, faiss, ray, trainers) are imported on
first use by the modules that need them. ``datamill.run(recipe, workdir=...)`` runs a recipe from code
(see :mod:`datamill.api`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from datamill.api import RunResult, run

__all__ = ["RunResult", "__version__", "run"]


def __getattr__(name: str) -> Any:
    if name in ("run", "RunResult"):
        from datamill import api

        return getattr(api, name)
    raise AttributeError(f"module 'datamill' has no attribute {name!r}")
