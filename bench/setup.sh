#!/usr/bin/env bash
# Sets up the benchmark's Python venv (the Python worker, the starter, the harness), idempotently:
# the venv is created once, and pip runs only when requirements.txt differs from the copy stamped
# after the last successful install. Prints the venv's python on stdout's last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
venv=${BENCH_VENV:-${WASM_WORKER_CACHE:-$HOME/.cache/wasm-worker}/venv-bench}
stamp=$venv/.requirements.stamp

"$repo/scripts/ensure-venv.sh" "$venv"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
  echo "installing bench requirements into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  # Stamp only after pip succeeded, so a failed install is retried next time.
  cp "$here/requirements.txt" "$stamp"
fi
echo "$venv/bin/python"
