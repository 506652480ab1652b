# XTuner config lines for seed 004 (merge into internlm2_1_8b_qlora_alpaca_e3.py after
# `xtuner copy-cfg internlm2_1_8b_qlora_alpaca_e3 .`); paths are what
# `datamill run recipes/seed004-ruozhiba/recipe.yaml` writes, relative to the project root.
from datasets import load_dataset
from xtuner.dataset import process_hf_dataset
from xtuner.dataset.map_fns import openai_map_fn, template_map_fn_factory
from xtuner.utils import PROMPT_TEMPLATE

data_files = dict(train="runs/seed004-ruozhiba/export/train.jsonl", test="runs/seed004-ruozhiba/export/test.jsonl")
prompt_template = PROMPT_TEMPLATE.internlm2_chat
max_length = 2048
evaluation_inputs = ["为什么我爸妈结婚的时候没邀请我参加婚礼"]

train_dataset = dict(
    type=process_hf_dataset,
    dataset=dict(type=load_dataset, path="json", data_files=data_files, split="train"),
    tokenizer=tokenizer,  # noqa: F821 - defined in the XTuner config this snippet goes into
    max_length=max_length,
    dataset_map_fn=openai_map_fn,
    template_map_fn=dict(type=template_map_fn_factory, template=prompt_template),
    remove_unused_columns=True,
    shuffle_before_pack=True,
    pack_to_max_length=True,
)
