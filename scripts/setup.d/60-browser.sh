# Browser tests (the build report and the review app): Debian's chromium driven by Playwright. Playwright
# never downloads a browser here: the tests launch the chromium binary from the Debian package.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    _apt=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && _apt="sudo"
    if [ "$(id -u)" -eq 0 ] || [ -n "$_apt" ]; then
      echo "installing chromium (Debian package) for the browser tests" >&2
      $_apt apt-get update -qq && DEBIAN_FRONTEND=noninteractive $_apt apt-get install -y -qq chromium >/dev/null \
        || echo "could not install chromium; the browser tests will be skipped" >&2
    else
      echo "chromium is missing and apt-get needs root; the browser tests will be skipped" >&2
    fi
    unset _apt
  else
    echo "chromium is missing and there is no apt-get; the browser tests will be skipped" >&2
  fi
fi
if ! "$VPY" -c "import playwright.sync_api" 2>/dev/null; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$VPY" -m pip install -q "playwright>=1.40"
fi
