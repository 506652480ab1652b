"""The backends' own configuration files, written next to the training data.

* LLaMA-Factory: a train YAML for ``llamafactory-cli train`` (``stage``, ``finetuning_type``, LoRA
  settings, ``dataset`` names from a ``dataset_info.json``, ``dataset_dir``, ``template``, ``cutoff_len``);
* TRL: a YAML for ``trl sft|dpo|kto --config`` (the TRL CLI), on the rows datamill writes;
* XTuner: a Python config for ``xtuner train`` that reads OpenAI-messages JSON Lines through
  ``openai_map_fn`` (seed 004's setup).

``spec.set`` keys are merged last, so any backend key can be set or overridden.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from datamill.train.spec import TrainSpec

#: model-name fragment -> (LLaMA-Factory template, XTuner PROMPT_TEMPLATE), first match wins
TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("smollm2", "smollm2", "default"),
    ("smollm", "smollm", "default"),
    ("qwen3", "qwen3", "qwen_chat"),
    ("qwen", "qwen", "qwen_chat"),
    ("internlm2", "intern2", "internlm2_chat"),
    ("llama-3", "llama3", "llama3_chat"),
    ("llama3", "llama3", "llama3_chat"),
    ("llama-2", "llama2", "llama2_chat"),
    ("llama2", "llama2", "llama2_chat"),
    ("mistral", "mistral", "mistral"),
    ("gemma", "gemma", "gemma"),
    ("glm-4", "glm4", "chatglm3"),
    ("deepseek", "deepseek3", "deepseek_v2"),
)


def guess_template(model: str, backend: str) -> tuple[str, bool]:
    """The chat template name for ``model`` and whether it was recognised (else ``default``)."""
    name = model.lower()
    for fragment, lf, xt in TEMPLATES:
        if fragment in name:
            return (lf if backend == "llamafactory" else xt), True
    return "default", False


def lf_stage(spec: TrainSpec, mode: str) -> str:
    from datamill.train.data import STAGE_OF_MODE

    return STAGE_OF_MODE[mode] if spec.stage == "auto" else spec.stage


def llamafactory_yaml(spec: TrainSpec, *, model_path: str, dataset_dir: str, datasets: list[str], stage: str,
                      template: str, output_dir: str) -> str:
    cfg: dict[str, Any] = {"model_name_or_path": model_path, "stage": stage, "do_train": True,
                           "finetuning_type": "full" if spec.method == "full" else "lora"}
    if spec.method != "full":
        cfg.update(lora_rank=spec.lora_rank, lora_alpha=spec.lora_alpha, lora_dropout=spec.lora_dropout,
                   lora_target=spec.lora_target)
    if spec.method == "qlora":
        cfg["quantization_bit"] = 4
    if stage in ("dpo", "kto"):
        cfg["pref_beta"] = 0.1
    cfg.update(dataset=",".join(datasets), dataset_dir=dataset_dir, template=template, cutoff_len=spec.cutoff_len,
               overwrite_cache=True, output_dir=output_dir, logging_steps=spec.logging_steps,
               save_steps=spec.save_steps, plot_loss=True, per_device_train_batch_size=spec.batch_size,
               gradient_accumulation_steps=spec.grad_accum, learning_rate=spec.lr, lr_scheduler_type="cosine",
               seed=spec.seed, report_to="none")
    if spec.max_steps:
        cfg["max_steps"] = spec.max_steps
    else:
        cfg["num_train_epochs"] = spec.epochs
    cfg.update(spec.set)
    head = (f"# LLaMA-Factory {stage} ({cfg['finetuning_type']}) written by datamill train\n"
            f"#   llamafactory-cli train <this file>\n")
    return head + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)


TRL_COMMAND = {"sft": "sft", "pt": "sft", "dpo": "dpo", "kto": "kto"}


def trl_yaml(spec: TrainSpec, *, model_path: str, data_dir: str, stage: str, output_dir: str,
             cuda: bool = True) -> str:
    """TRL CLI config; without a GPU where it is written, ``use_cpu: true`` (TRL's configs default to bf16)."""
    cfg: dict[str, Any] = {"model_name_or_path": model_path, "dataset_name": data_dir, "output_dir": output_dir,
                           "learning_rate": spec.lr, "per_device_train_batch_size": spec.batch_size,
                           "gradient_accumulation_steps": spec.grad_accum, "max_length": spec.cutoff_len,
                           "logging_steps": spec.logging_steps, "save_steps": spec.save_steps, "seed": spec.seed,
                           "report_to": "none"}
    if spec.max_steps:
        cfg["max_steps"] = spec.max_steps
    else:
        cfg["num_train_epochs"] = spec.epochs
    if spec.method != "full":
        cfg.update(use_peft=True, lora_r=spec.lora_rank, lora_alpha=spec.lora_alpha, lora_dropout=spec.lora_dropout,
                   lora_target_modules="all-linear" if spec.lora_target == "all" else spec.lora_target.split(","))
    if spec.method == "qlora":
        cfg["load_in_4bit"] = True
    if not cuda:
        cfg["use_cpu"] = True
    cfg.update(spec.set)
    return (f"# TRL {TRL_COMMAND.get(stage, stage)} written by datamill train\n"
            f"#   trl {TRL_COMMAND.get(stage, stage)} --config <this file>\n"
            + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))


def _py(value: Any) -> str:
    """A Python literal for a config value (JSON is valid Python for str/int/float/list; booleans differ)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def xtuner_config(spec: TrainSpec, *, model_path: str, data_file: str, template: str) -> str:
    """An XTuner (0.1.x/0.2.x) SFT config on OpenAI-messages JSONL read through ``openai_map_fn``."""
    qlora = spec.method == "qlora"
    values: dict[str, Any] = {
        "pretrained_model_name_or_path": model_path, "data_files": data_file, "max_length": spec.cutoff_len,
        "pack_to_max_length": True, "batch_size": spec.batch_size, "accumulative_counts": spec.grad_accum,
        "dataloader_num_workers": 0, "max_epochs": spec.epochs, "lr": spec.lr, "weight_decay": 0,
        "max_norm": 1, "warmup_ratio": 0.03, "save_steps": spec.save_steps, "save_total_limit": 2,
        "lora_r": spec.lora_rank, "lora_alpha": spec.lora_alpha, "lora_dropout": spec.lora_dropout,
    }
    values.update(spec.set)
    settings = "\n".join(f"{k} = {_py(v)}" for k, v in values.items())
    quant = ("""
        quantization_config=dict(
            type=BitsAndBytesConfig, load_in_4bit=True, load_in_8bit=False, llm_int8_threshold=6.0,
            llm_int8_has_fp16_weight=False, bnb_4bit_compute_dtype=torch.float16,
            bnb_4bit_use_double_quant=True, bnb_4bit_quant_type="nf4"),""" if qlora else "")
    lora = ("" if spec.method == "full" else """
    lora=dict(type=LoraConfig, r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout, bias="none",
              task_type="CAUSAL_LM"),""")
    max_iters = f"\ntrain_cfg = dict(type=TrainLoop, max_iters={spec.max_steps})" if spec.max_steps else \
        "\ntrain_cfg = dict(type=TrainLoop, max_epochs=max_epochs)"
    return f'''# XTuner SFT config written by datamill train: OpenAI messages JSONL through openai_map_fn (seed 004).
#   xtuner train <this file> --work-dir <out>/xtuner
import torch
from datasets import load_dataset
from mmengine.dataset import DefaultSampler
from mmengine.hooks import CheckpointHook, DistSamplerSeedHook, IterTimerHook, LoggerHook, ParamSchedulerHook
from mmengine.optim import AmpOptimWrapper, CosineAnnealingLR, LinearLR
from peft import LoraConfig
from torch.optim import AdamW
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

from xtuner.dataset import process_hf_dataset
from xtuner.dataset.collate_fns import default_collate_fn
from xtuner.dataset.map_fns import openai_map_fn, template_map_fn_factory
from xtuner.engine.hooks import DatasetInfoHook
from xtuner.engine.runner import TrainLoop
from xtuner.model import SupervisedFinetune
from xtuner.utils import PROMPT_TEMPLATE

# --- settings (datamill train options; --set KEY=VALUE overrides any of them) ---
{settings}
prompt_template = PROMPT_TEMPLATE.{template}

tokenizer = dict(type=AutoTokenizer.from_pretrained, pretrained_model_name_or_path=pretrained_model_name_or_path,
                 trust_remote_code=True, padding_side="right")

model = dict(
    type=SupervisedFinetune,
    llm=dict(
        type=AutoModelForCausalLM.from_pretrained, pretrained_model_name_or_path=pretrained_model_name_or_path,
        trust_remote_code=True, torch_dtype=torch.float16,{quant}
    ),{lora}
)

train_dataset = dict(
    type=process_hf_dataset,
    dataset=dict(type=load_dataset, path="json", data_files=dict(train=data_files)),
    tokenizer=tokenizer,
    max_length=max_length,
    dataset_map_fn=openai_map_fn,
    template_map_fn=dict(type=template_map_fn_factory, template=prompt_template),
    remove_unused_columns=True,
    shuffle_before_pack=True,
    pack_to_max_length=pack_to_max_length,
)

train_dataloader = dict(batch_size=batch_size, num_workers=dataloader_num_workers, dataset=train_dataset,
                        sampler=dict(type=DefaultSampler, shuffle=True), collate_fn=dict(type=default_collate_fn))

optim_wrapper = dict(
    type=AmpOptimWrapper,
    optimizer=dict(type=AdamW, lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay),
    clip_grad=dict(max_norm=max_norm, error_if_nonfinite=False),
    accumulative_counts=accumulative_counts, loss_scale="dynamic", dtype="float16")

param_scheduler = [
    dict(type=LinearLR, start_factor=1e-5, by_epoch=True, begin=0, end=warmup_ratio * max_epochs,
         convert_to_iter_based=True),
    dict(type=CosineAnnealingLR, eta_min=0.0, by_epoch=True, begin=warmup_ratio * max_epochs, end=max_epochs,
         convert_to_iter_based=True),
]{max_iters}

custom_hooks = [dict(type=DatasetInfoHook, tokenizer=tokenizer)]
default_hooks = dict(
    timer=dict(type=IterTimerHook),
    logger=dict(type=LoggerHook, log_metric_by_epoch=False, interval={spec.logging_steps}),
    param_scheduler=dict(type=ParamSchedulerHook),
    checkpoint=dict(type=CheckpointHook, by_epoch=False, interval=save_steps, max_keep_ckpts=save_total_limit),
    sampler_seed=dict(type=DistSamplerSeedHook),
)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
               dist_cfg=dict(backend="nccl"))
visualizer = None
log_level = "INFO"
load_from = None
resume = True
randomness = dict(seed={spec.seed}, deterministic=False)
log_processor = dict(by_epoch=False)
'''


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["lora_rank=16", "bf16=true"]`` -> ``{"lora_rank": 16, "bf16": True}`` (values read as YAML)."""
    from datamill.errors import RecipeError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", key.strip()):
            raise RecipeError(f"--set must look like KEY=VALUE, got '{item}'")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return out


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
