# Cleaning/filter steps (issue 4): HTML extraction, ftfy, lingua, OpenCC. Idempotent; fast when done.
# 'opencc' (official C++ OpenCC, dictionaries bundled) must not sit next to opencc-python-reimplemented,
# which installs a module of the same name.
if ! "$VPY" -c "import trafilatura, selectolax, ftfy, lingua, opencc, lxml_html_clean" 2>/dev/null; then
  "$VPY" -m pip uninstall -y -q opencc-python-reimplemented 2>/dev/null || true
  "$VPY" -m pip install -q "trafilatura>=2.0" "lxml_html_clean" "selectolax>=0.3" "ftfy>=6.2" \
    "lingua-language-detector>=2.0" "opencc>=1.1.9"
fi
