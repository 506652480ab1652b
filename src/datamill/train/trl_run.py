"""The built-in backend: TRL + PEFT, on CPU or one GPU.

* SFT on conversations: datamill tokenizes each conversation with the model's chat template and marks
  the answer spans itself (end-of-turn token included, :meth:`ChatEncoder.assistant_mask`), so only
  the answers carry loss even when the template has no ``{% generation %}`` markers (SmolLM2's has
  none, and TRL's ``assistant_only_loss`` needs them); TRL truncates at ``max_length`` keeping the start.
* Pretraining text: TRL's language modeling on ``text``.
* DPO on preference pairs, KTO on labelled completions: TRL's own trainers on the conversational rows.

LoRA (PEFT, every linear layer by default), full fine-tuning, or QLoRA (4-bit base; needs a CUDA GPU
and bitsandbytes). Checkpoints every ``save_steps`` in ``OUT/checkpoints``: a killed run started again
resumes from the last one (optimizer, scheduler, data order and step included). Progress lines give the
step, the loss and the ETA.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamill.errors import DatamillError, RecipeError, require
from datamill.train.spec import TrainSpec


class TrainError(DatamillError):
    """Training could not start or failed."""

    exit_code = 4


def _progress_callback(log: Callable[[str], None]) -> Any:
    transformers = require("transformers", "train", "datamill train")

    class Progress(transformers.TrainerCallback):  # type: ignore[name-defined]
        """One line per logging step: step/total, loss, learning rate, elapsed and ETA."""

        def __init__(self) -> None:
            self.started = time.monotonic()
            self.first_step = 0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.monotonic()
            self.first_step = state.global_step
            if state.global_step:
                log(f"resumed at step {state.global_step}/{state.max_steps}")

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if not logs or "loss" not in logs:
                return
            done = state.global_step - self.first_step
            elapsed = time.monotonic() - self.started
            eta = elapsed / done * (state.max_steps - state.global_step) if done else 0.0
            log(f"step {state.global_step}/{state.max_steps}  loss {logs['loss']:.4f}  "
                f"lr {logs.get('learning_rate', 0):.2e}  elapsed {elapsed:.0f}s  eta {eta:.0f}s")

    return Progress()


def fix_trl_availability_flags() -> list[str]:
    """Make TRL 0.24's "is package X installed" flags booleans again under transformers 5.

    TRL 0.24 sets ``_mergekit_available = _is_package_available("mergekit")`` (and the same for weave,
    deepspeed, ...) from transformers' helper, which in transformers 5 returns a tuple ``(found, version)``
    even when no version is asked for. A tuple is always true, so TRL believes every optional package is
    installed and importing ``DPOTrainer``/``KTOTrainer`` fails on ``import mergekit``. Only flags that
    are tuples are rewritten (to their first element); returns the names it fixed.
    """
    import trl.import_utils as flags

    fixed = []
    for name, value in list(vars(flags).items()):
        if name.startswith("_") and name.endswith("_available") and isinstance(value, tuple) and value:
            setattr(flags, name, bool(value[0]))
            fixed.append(name)
    return fixed


def _apply_set(config: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if not hasattr(config, key):
            raise RecipeError(f"unknown TRL option '{key}'", hint=f"see the fields of {type(config).__name__}",
                              location=f"train.set.{key}")
        setattr(config, key, value)


def _sft_dataset(rows: list[dict[str, Any]], tokenizer: Any, stage: str) -> Any:
    from datasets import Dataset

    from datamill.handoff.encode import ChatEncoder

    if stage == "pt":
        return Dataset.from_list([{"text": r["text"]} for r in rows])
    encoder = ChatEncoder(tokenizer)
    ids, masks = [], []
    for row in rows:
        input_ids, mask = encoder.assistant_mask(row["messages"], row.get("tools"))
        ids.append(input_ids)
        masks.append(mask)
    return Dataset.from_dict({"input_ids": ids, "assistant_masks": masks})


def peak_memory_mb() -> float:
    """Peak resident memory of this process (MB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def run_trl(spec: TrainSpec, rows: list[dict[str, Any]], stage: str, out: Path, *, log: Callable[[str], None],
            callbacks: tuple[Any, ...] = ()) -> dict[str, Any]:
    """Train with TRL on ``rows`` (TRL conversational rows) and write the adapter (or model) to ``out``."""
    require("trl", "train", "datamill train --backend trl")
    require("peft", "train", "datamill train --backend trl")
    fix_trl_availability_flags()
    import torch
    from datasets import Dataset
    from transformers.trainer_utils import get_last_checkpoint

    from datamill.models import load_model, load_tokenizer

    cuda = torch.cuda.is_available()
    if spec.method == "qlora" and not cuda:
        raise TrainError("qlora loads the base model in 4 bits with bitsandbytes, which needs a CUDA GPU",
                         hint="use --method lora on CPU")
    tokenizer = load_tokenizer(spec.model)
    quant: dict[str, Any] = {}
    if spec.method == "qlora":
        from transformers import BitsAndBytesConfig

        require("bitsandbytes", "train", "qlora")
        quant = {"quantization_config": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_compute_dtype=torch.bfloat16)}
    if quant:
        from transformers import AutoModelForCausalLM

        from datamill.models import model_folder

        model = AutoModelForCausalLM.from_pretrained(model_folder(spec.model), **quant)
    else:
        model = load_model(spec.model)
    if not hasattr(model, "warnings_issued"):  # TRL 0.24's DPO/KTO write it; transformers 5 no longer has it
        setattr(model, "warnings_issued", {})  # noqa: B010 - a plain attribute, not a submodule
    peft_config = None
    if spec.method != "full":
        from peft import LoraConfig

        targets: Any = "all-linear" if spec.lora_target == "all" else [t.strip() for t in spec.lora_target.split(",")]
        peft_config = LoraConfig(r=spec.lora_rank, lora_alpha=spec.lora_alpha, lora_dropout=spec.lora_dropout,
                                 target_modules=targets, task_type="CAUSAL_LM")
    common: dict[str, Any] = dict(
        output_dir=str(out / "checkpoints"), learning_rate=spec.lr, per_device_train_batch_size=spec.batch_size,
        gradient_accumulation_steps=spec.grad_accum, logging_steps=spec.logging_steps, save_steps=spec.save_steps,
        save_total_limit=2, seed=spec.seed, report_to=[], disable_tqdm=True, use_cpu=not cuda,
        dataloader_num_workers=0, max_length=spec.cutoff_len,
        bf16=cuda and torch.cuda.is_bf16_supported(),
    )
    if spec.max_steps:
        common["max_steps"] = spec.max_steps
    else:
        common["num_train_epochs"] = spec.epochs
    trainer_kwargs: dict[str, Any] = {"model": model, "processing_class": tokenizer, "peft_config": peft_config}
    if stage in ("sft", "pt"):
        from trl import SFTConfig, SFTTrainer

        extra: dict[str, Any] = {"dataset_text_field": "text"} if stage == "pt" else {}
        config: Any = SFTConfig(**common, **extra)
        dataset = _sft_dataset(rows, tokenizer, stage)
        trainer_cls: Any = SFTTrainer
    elif stage == "dpo":
        from trl import DPOConfig, DPOTrainer

        config = DPOConfig(**common, max_prompt_length=min(512, spec.cutoff_len // 2))
        dataset, trainer_cls = Dataset.from_list(rows), DPOTrainer
    elif stage == "kto":
        from trl import KTOConfig, KTOTrainer

        config = KTOConfig(**common, max_prompt_length=min(512, spec.cutoff_len // 2))
        dataset, trainer_cls = Dataset.from_list(rows), KTOTrainer
    else:
        raise TrainError(f"the trl backend trains sft, pt, dpo and kto, not '{stage}'",
                         hint="use --backend llamafactory for a reward model (stage rm)")
    _apply_set(config, spec.set)
    trainer = trainer_cls(args=config, train_dataset=dataset, callbacks=[_progress_callback(log), *callbacks],
                          **trainer_kwargs)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # it prints every log dict; the progress lines say the same
    checkpoints = out / "checkpoints"
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if last:
        log(f"resuming from {last}")
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=last)
    seconds = time.monotonic() - started
    target = out / ("adapter" if peft_config is not None else "model")
    trainer.save_model(str(target))
    tokenizer.save_pretrained(str(target))
    losses = [(int(h["step"]), float(h["loss"])) for h in trainer.state.log_history if "loss" in h]
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in trainer.model.parameters())
    return {
        "steps": int(trainer.state.global_step),
        "max_steps": int(trainer.state.max_steps),
        "final_loss": losses[-1][1] if losses else None,
        "train_loss": float(result.training_loss),
        "seconds": round(seconds, 2),
        "resumed_from": Path(last).name if last else None,
        "examples": len(dataset),
        "trainable_parameters": trainable,
        "parameters": total,
        "device": "cuda" if cuda else "cpu",
        "peak_memory_mb": peak_memory_mb(),
        "output": str(target),
        "losses": losses,
    }
