#!/usr/bin/env bash
# Builds the Python example activity plugin into a WebAssembly component.
#
#   plugins/python-activity/build.sh [OUTPUT.wasm]     (default: python_activity.wasm beside this script)
#
# The steps (componentize-py in a cached venv, a scratch copy of the sources, an atomic
# rename of the result) are in scripts/componentize-py.sh, shared with the Python workflow.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$here/../../scripts/componentize-py.sh" "$here" python-activity "${1:-$here/python_activity.wasm}"
