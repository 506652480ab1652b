#!/usr/bin/env bash
# Set up .venv (created or reused) with the dev extras, then lint, type-check and run the tests.
. "$(dirname "${BASH_SOURCE[0]}")/venv.sh" "dev"
export OMP_NUM_THREADS=1
export DATAMILL_CACHE="${DATAMILL_CACHE:-$HOME/.cache/datamill}"
for fragment in "$ROOT"/scripts/setup.d/*.sh; do
  [ -e "$fragment" ] || continue
  echo "== setup: $(basename "$fragment")" >&2
  . "$fragment"
done
echo "== ruff" >&2
ruff check src tests benchmarks scripts
echo "== mypy" >&2
mypy
echo "== pytest" >&2
set +e
pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
fi
exit "$rc"
