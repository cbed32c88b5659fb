#!/usr/bin/env bash
# Builds the C example plugin: clang (Debian's, with wasi-libc) compiles a wasm32-wasi reactor
# module, then `plugin-tool component-new` wraps it into a component with the WASI preview-1
# adapter. Usage: build.sh [OUT.wasm] (default: c_activity.wasm beside this script).
# PLUGIN_TOOL names the plugin-tool binary (make builds it: `cargo build -p
# wasm-worker-plugin-tool`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/c_activity.wasm}"
tool="${PLUGIN_TOOL:-plugin-tool}"
build="${TMPDIR:-/tmp}/wasm-worker-c-activity.$$"
mkdir -p "$build"
trap 'rm -rf "$build"' EXIT
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror \
  -Wno-unused-parameter \
  -o "$build/c_activity.core.wasm" \
  "$here/src/checksums.c" "$here/bindings/c_activity.c" "$here/bindings/c_activity_component_type.o"
# component-new writes OUT.partial and renames it over OUT only once the component is whole:
# a failed build exits non-zero (set -e) and leaves OUT as it was.
"$tool" component-new "$build/c_activity.core.wasm" "$out"
echo "built $out ($(stat -c %s "$out") bytes)" >&2
