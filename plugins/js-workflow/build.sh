#!/usr/bin/env bash
# Builds the JavaScript example workflow: plugins/js-workflow/build.sh [OUT.wasm]
# (default: js_workflow.wasm beside this script). It uses the toolchain plugins/js-activity
# installs (the same componentize-js, one node_modules), so it needs what that needs:
# Node.js 20+ and npm.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/js_workflow.wasm}"
case $out in /*) ;; *) out=$PWD/$out ;; esac
"$here/../js-activity/build.sh" --deps-only
ln -sfn ../js-activity/node_modules "$here/node_modules"
exec node "$here/build.mjs" "$out"
