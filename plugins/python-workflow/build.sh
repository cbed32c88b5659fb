#!/usr/bin/env bash
# Builds the Python example workflow plugin into a WebAssembly component.
#
#   plugins/python-workflow/build.sh [OUTPUT.wasm]     (default: python_workflow.wasm beside this script)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$here/../../scripts/componentize-py.sh" "$here" python-workflow "${1:-$here/python_workflow.wasm}"
