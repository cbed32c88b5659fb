#!/usr/bin/env bash
# Builds this plugin: ./build.sh [OUT.wasm] (default: {{name_snake}}.wasm here). Needs clang,
# lld and wasi-libc (Debian: apt install clang lld wasi-libc libclang-rt-dev-wasm32) and the
# wasm-worker binary (WASM_WORKER, else `wasm-worker` on PATH) to make the component.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/{{name_snake}}.wasm}
case $out in /*) ;; *) out=$PWD/$out ;; esac
tool=${WASM_WORKER:-wasm-worker}
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
  -o "$build/core.wasm" \
  "$here/src/plugin.c" "$here/bindings/{{name_snake}}.c" "$here/bindings/{{name_snake}}_component_type.o"
# component-new writes OUT.partial and renames it into place when whole.
mkdir -p "$(dirname "$out")"
"$tool" component-new "$build/core.wasm" "$out"
echo "built $out ($(wc -c <"$out") bytes)" >&2
