#!/usr/bin/env bash
# Builds this plugin: ./build.sh [OUT.wasm] (default: {{name_snake}}.wasm here). Needs
# python3 with venv (Debian: apt install python3-venv); installs componentize-py into a venv in
# ~/.cache/wasm-worker the first time.
set -euo pipefail
COMPONENTIZE_PY_VERSION={{componentize_py}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/{{name_snake}}.wasm}
case $out in /*) ;; *) out=$PWD/$out ;; esac
venv=${WASM_WORKER_CACHE:-$HOME/.cache/wasm-worker}/venv-componentize-py
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || { echo "build.sh: python3 -m venv failed; install python3-venv" >&2; exit 1; }
fi
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("componentize-py"))' 2>/dev/null || true)
if [ "$installed" != "$COMPONENTIZE_PY_VERSION" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
fi
# Built from a scratch copy (componentize-py runs the app once and would leave __pycache__
# here), to a temporary name renamed when whole: a failed build publishes nothing.
src=$(mktemp -d)
mkdir -p "$(dirname "$out")"
partial="$out.$$.partial"
trap 'rm -rf "$src" "$partial"' EXIT
# Every module and package of the plugin, not the WIT, build outputs or this script.
(cd "$here" && tar --exclude=./wit --exclude='*.wasm' --exclude='*.partial' --exclude=./build.sh \
  --exclude=__pycache__ -cf - .) | (cd "$src" && tar -xf -)
"$venv/bin/componentize-py" --quiet --wit-path "$here/wit" --world {{name}} \
  componentize --python-path "$src" --output "$partial" app
mv -f "$partial" "$out"
echo "built $out ($(wc -c <"$out") bytes)" >&2
