#!/usr/bin/env bash
# Builds the plugins of the edit-loop measurements (`bench/swap_latency.py --edits DIR`, and
# `COMPILE_TIERS_EDITS=DIR cargo bench --features winch-eval --bench compile_tiers`): for the
# Python, JavaScript and Rust examples, NAME.wasm (the example as it is) and NAME.edited.wasm
# (the same after a one-line edit of the plugin's own code), each built by the example's own
# build.
#
#   bench/build_edits.sh [OUT]      (default: dist/edit-plugins)
#
# The sources are copied to a temporary tree first; the repository is never edited.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/dist/edit-plugins}
case $out in /*) ;; *) out=$PWD/$out ;; esac
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The build scripts reach ../../scripts and ../../wit: give the copy the same shape.
mkdir -p "$work/plugins"
ln -s "$repo/scripts" "$work/scripts"
ln -s "$repo/wit" "$work/wit"
cp -r "$repo/plugins/python-activity" "$work/plugins/"
mkdir -p "$work/plugins/js-activity"
for f in "$repo"/plugins/js-activity/*; do
  case $(basename "$f") in
    node_modules) [ -d "$f" ] && ln -s "$f" "$work/plugins/js-activity/node_modules" ;;
    *) cp -r "$f" "$work/plugins/js-activity/" ;;
  esac
done
cp -r "$repo/plugins/hello-activity" "$repo/plugins/Cargo.lock" "$work/plugins/"
# The Rust example alone, in a workspace of its own with the examples' settings.
sed 's/^members = .*/members = ["hello-activity"]/' "$repo/plugins/Cargo.toml" >"$work/plugins/Cargo.toml"

# One line each, in the plugin's own code.
edit() { # FILE FROM TO: replaces the first FROM, and fails if there is none
  python3 - "$@" <<'PY'
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
if old not in text:
    sys.exit(f"build_edits.sh: {old!r} not found in {path}")
open(path, "w").write(text.replace(old, new, 1))
PY
}

rust_build() { # OUT.wasm
  (cd "$work/plugins" && CARGO_TARGET_DIR=${PLUGINS_TARGET:-$HOME/.cache/wasm-worker/plugins-target-edits} \
    cargo build --quiet --release --target wasm32-wasip2 -p hello-activity)
  cp "${PLUGINS_TARGET:-$HOME/.cache/wasm-worker/plugins-target-edits}/wasm32-wasip2/release/hello_activity.wasm" "$1"
}

"$work/plugins/python-activity/build.sh" "$out/python_activity.wasm" >&2
edit "$work/plugins/python-activity/app.py" "        return stats
" "        stats = stats  # a one-line edit
        return stats
"
"$work/plugins/python-activity/build.sh" "$out/python_activity.edited.wasm" >&2

"$work/plugins/js-activity/build.sh" "$out/js_activity.wasm" >&2
edit "$work/plugins/js-activity/src/activities.js" 'column ${column}`' 'column ${column}.`'
"$work/plugins/js-activity/build.sh" "$out/js_activity.edited.wasm" >&2

rust_build "$out/hello_activity.wasm"
edit "$work/plugins/hello-activity/src/lib.rs" 'format!("Hello, {name}!")' 'format!("Hello, {name}!!")'
rust_build "$out/hello_activity.edited.wasm"

ls -l "$out"/*.wasm >&2
echo "$out"
