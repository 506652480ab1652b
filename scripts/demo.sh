#!/usr/bin/env bash
# Set up .venv (created or reused) and run the demo recipe on the data shipped in recipes/demo-data/.
. "$(dirname "${BASH_SOURCE[0]}")/venv.sh" ""
datamill run recipes/demo.yaml --workdir runs/demo "$@"
echo "datamill: demo outputs are in runs/demo/export/ and the counts in runs/demo/summary.json" >&2
