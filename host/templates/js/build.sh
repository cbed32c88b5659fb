#!/usr/bin/env bash
# Builds this plugin: ./build.sh [OUT.wasm] (default: {{name_snake}}.wasm here). Needs
# Node.js 20 or later with npm; installs componentize-js into node_modules the first time.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/{{name_snake}}.wasm}
case $out in /*) ;; *) out=$PWD/$out ;; esac
command -v node >/dev/null && command -v npm >/dev/null \
  || { echo "build.sh: needs Node.js 20+ and npm" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "build.sh: componentize-js needs Node.js 20 or later, found $(node --version)" >&2; exit 1; }
[ -d "$here/node_modules/@bytecodealliance/componentize-js" ] \
  || (cd "$here" && npm install --ignore-scripts --no-audit --no-fund)
node "$here/build.mjs" "$out"
