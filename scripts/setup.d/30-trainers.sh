# Trainers whose own data loaders prove the exported files (tests/export/trainers/): LLaMA-Factory's
# dataset pipeline (get_dataset), TRL's dataset-format helpers. Sourced by scripts/test.sh.
#
# torch is held at 2.13.0 (the CPU wheel on disk). llamafactory goes in with --no-deps because its
# torchvision/torchaudio requirements have no CPU build for that torch; get_dataset needs neither
# (the tests stub the torchaudio import, which only LLaMA-Factory's audio plugin uses). Of its other
# requirements only what the dataset pipeline imports is installed (no gradio/webui/vllm), with
# `datasets` held at the version datamill already uses (LLaMA-Factory pins <=4.0.0 but its json
# loader works with 5.x; the tests set DISABLE_VERSION_CHECK=1).
# XTuner 0.2.0 is not installed: it pins transformers==4.48.0 (LLaMA-Factory 0.9.5 needs >=4.55),
# bitsandbytes==0.45.0, mmengine==0.10.6 and torchvision (no build for torch 2.13 here).
LF_MARK="$ROOT/.venv/.datamill-trainers-30"
LF_WANT="llamafactory==0.9.5 transformers==5.6.0 trl==0.24.0 peft==0.18.1 accelerate==1.11.0"
if [ ! -f "$LF_MARK" ] || [ "$(cat "$LF_MARK")" != "$LF_WANT" ]; then
  LF_CONSTRAINTS="$(mktemp)"
  "$VPY" - > "$LF_CONSTRAINTS" <<'PY'
import importlib.metadata as md
print("torch==2.13.0")
try:
    print(f"datasets=={md.version('datasets')}")
except md.PackageNotFoundError:
    pass
PY
  "$VPY" -m pip install -q "torch==2.13.0"
  "$VPY" -m pip install -q --no-deps "llamafactory==0.9.5"
  "$VPY" -m pip install -q -c "$LF_CONSTRAINTS" "transformers==5.6.0" "trl==0.24.0" "peft==0.18.1" \
    "accelerate==1.11.0" "tokenizers>=0.22,<=0.23.0" omegaconf "tyro<0.9.0" fire sentencepiece tiktoken einops
  rm -f "$LF_CONSTRAINTS"
  echo "$LF_WANT" > "$LF_MARK"
fi
