#!/usr/bin/env bash
# Builds this plugin: ./build.sh [OUT.wasm] (default: {{name_snake}}.wasm here). Needs Rust
# with the wasm32-wasip2 target (`rustup target add wasm32-wasip2`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/{{name_snake}}.wasm}
case $out in /*) ;; *) out=$PWD/$out ;; esac
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
target=${CARGO_TARGET_DIR:-$here/target}
(cd "$here" && CARGO_TARGET_DIR="$target" cargo build --release --target wasm32-wasip2)
# Copied under a temporary name, renamed when whole: a host watching the folder never loads
# half a file, and a failed build (set -e) publishes nothing.
mkdir -p "$(dirname "$out")"
cp "$target/wasm32-wasip2/release/{{name_snake}}.wasm" "$out.$$.partial"
mv -f "$out.$$.partial" "$out"
echo "built $out ($(wc -c <"$out") bytes)" >&2
