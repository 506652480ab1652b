"""What a training run is: ``datamill train`` options and a recipe's ``train:`` block, one model.

Defaults are the ones seed 002/003 used for LoRA (rank 8, alpha 16, lr 1e-4) with a small dropout, a
1024-token limit (TRL's default ``max_length``; LLaMA-Factory's ``cutoff_len`` is set to the same so
that both backends see the same examples) and one epoch. ``set`` passes any key to the backend as it
is: a TRL config field, a LLaMA-Factory YAML key or an XTuner config variable.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

BackendName = Literal["trl", "llamafactory", "xtuner"]
Method = Literal["lora", "qlora", "full"]
Stage = Literal["auto", "sft", "dpo", "kto", "pt", "rm"]


class TrainSpec(BaseModel):
    """A training run on an export (``datamill train``) or after a recipe's outputs (``train:``)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="hub name, local model folder, .gguf file, or 'smollm2'")
    backend: BackendName = Field("trl", description="trl (built in, trains), llamafactory or xtuner (config "
                                 "written; launched when their CLI is installed)")
    method: Method = Field("lora", description="lora, qlora (4-bit base, needs a CUDA GPU) or full")
    out: str | None = Field(None, description="output folder; in a recipe relative to the work directory "
                            "(default: train/)")
    stage: Stage = Field("auto", description="auto: from the data (sft, dpo for pairs, kto for labelled "
                         "completions, pt for text); rm trains a reward model (LLaMA-Factory)")
    split: str = Field("train", description="the split to train on (every file when no file has this split)")
    dry_run: bool = Field(False, description="write the backend's config and print the command, do not train")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    epochs: float = Field(1.0, gt=0, description="epochs (when max_steps is not set)")
    lr: float = Field(1e-4, gt=0, description="learning rate (seed 003: 1e-4 for LoRA)")
    batch_size: int = Field(4, ge=1, description="examples per device per step")
    grad_accum: int = Field(1, ge=1, description="gradient accumulation steps")
    cutoff_len: int = Field(1024, ge=8, description="token limit per example (TRL max_length, LLaMA-Factory "
                            "cutoff_len, XTuner max_length)")
    lora_rank: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_target: str = Field("all", description="'all' (every linear layer) or module names: q_proj,v_proj")
    template: str | None = Field(None, description="LLaMA-Factory/XTuner chat template name (default: guessed "
                                 "from the model name)")
    save_steps: int = Field(100, ge=1, description="checkpoint every N steps (a killed run resumes from the last)")
    logging_steps: int = Field(1, ge=1)
    seed: int = 0
    launcher: str | None = Field(None, description="path of llamafactory-cli or xtuner when not on PATH")
    set: dict[str, Any] = Field(default_factory=dict, description="any backend key: value, passed through")
