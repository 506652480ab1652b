# Sourced by demo.sh and test.sh: create or reuse .venv in the project root and install datamill.
# Usage: . scripts/venv.sh EXTRAS   (e.g. "" for the demo, "dev" for the tests)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "datamill: creating virtual environment .venv" >&2
  "$PY" -m venv .venv
fi
VPY="$ROOT/.venv/bin/python"
extras="${1:-}"
spec="."
[ -n "$extras" ] && spec=".[$extras]"
# Re-install only when pyproject.toml changed since the last install into this venv.
stamp=".venv/.datamill-installed-${extras:-core}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "datamill: installing $spec into .venv" >&2
  "$VPY" -m pip install --quiet --disable-pip-version-check -e "$spec"
  touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
