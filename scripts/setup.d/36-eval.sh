# datamill eval (issue 11): LLaMA-Factory's predict mode (do_predict + predict_with_generate, which writes the
# generated_predictions.jsonl that `datamill eval --predictions` reads; tests/evaluate/test_llamafactory_predictions.py)
# imports jieba, nltk and rouge-chinese for its BLEU/ROUGE scores. They go into LLaMA-Factory's own venv only
# (built by 35-train.sh), with --no-deps: their dependencies (regex, joblib, click, tqdm, six) come from the
# project venv through that venv's .pth file. Idempotent; fast when done.
_lf_py="${DATAMILL_CACHE:-$HOME/.cache/datamill}/llamafactory-venv/bin/python"
if [ -x "$_lf_py" ] && ! "$_lf_py" -c "import jieba, nltk, rouge_chinese" 2>/dev/null; then
  "$VPY" -m pip --python "$_lf_py" install -q --no-deps "jieba==0.42.1" "nltk>=3.8" "rouge-chinese==1.0.3"
fi
unset _lf_py
