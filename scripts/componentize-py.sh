#!/usr/bin/env bash
# Builds a Python plugin (activity or workflow) into a WebAssembly component with
# componentize-py: what each Python example's build.sh runs.
#
#   scripts/componentize-py.sh PLUGIN_DIR WORLD OUTPUT.wasm
#
# PLUGIN_DIR holds app.py (and any other *.py) and wit/ with WORLD. componentize-py lives in a
# venv in wasm-worker's cache, outside the clone, so every checkout shares it and a rebuild
# never reinstalls it. Running the script again is safe: each step only does what is missing.
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

here=$(cd "$1" && pwd)
world=$2
# Resolve the output against the caller's cwd before anything changes directory.
out=$3
case $out in /*) ;; *) out=$PWD/$out ;; esac

cache=${WASM_WORKER_CACHE:-$HOME/.cache/wasm-worker}
venv=$cache/venv-componentize-py

# Creates the venv, installing Debian's python3-venv first if the interpreter lacks it.
mkdir -p "$cache"
"$(dirname "${BASH_SOURCE[0]}")/ensure-venv.sh" "$venv"

installed=$("$venv/bin/python" -c \
  'import importlib.metadata as m; print(m.version("componentize-py"))' 2>/dev/null || true)
if [ "$installed" != "$COMPONENTIZE_PY_VERSION" ]; then
  echo "installing componentize-py $COMPONENTIZE_PY_VERSION into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "componentize-py==$COMPONENTIZE_PY_VERSION"
fi

# componentize generates the WIT bindings (the `wit_world` package app.py imports) on the fly
# and bundles them with app.py and the Python standard library, so nothing generated is kept.
# It runs the app once at build time (pre-initialisation), and that Python writes __pycache__
# beside the sources: build from a scratch copy so the plugin folder stays clean.
#
# The component is written to a temporary name beside OUTPUT (not ending in .wasm, so a host
# watching that folder ignores it) and renamed over OUTPUT only when the build succeeded: a
# failed build exits non-zero and leaves no half-written file, and `build.sh && mv …` then
# publishes nothing.
src=$(mktemp -d)
mkdir -p "$(dirname "$out")"
partial="$out.$$.partial"
trap 'rm -rf "$src" "$partial"' EXIT
cp "$here"/*.py "$src/"
"$venv/bin/componentize-py" --quiet \
  --wit-path "$here/wit" \
  --world "$world" \
  componentize \
  --python-path "$src" \
  --output "$partial" \
  app
mv -f "$partial" "$out"
echo "built $out ($(wc -c <"$out") bytes)" >&2
