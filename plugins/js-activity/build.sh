#!/usr/bin/env bash
# Builds the JavaScript example plugin: plugins/js-activity/build.sh [OUT.wasm]
# (`--deps-only`: only install the toolchain; plugins/js-workflow builds with it too)
# (default: js_activity.wasm beside this script; a relative OUT is taken from the current
# directory). Works from any directory and is cheap to re-run:
# - `npm ci` runs only when node_modules is missing or package-lock.json changed since;
# - the component is rebuilt only when OUT is missing or older than one of its inputs
#   (componentize-js output is not byte-reproducible, so a needless rebuild would give the
#   host a new digest, hence a new build ID, for the same code). Delete OUT to force it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/js_activity.wasm}"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null; then
        echo "build.sh: $tool not found; install Node.js 20+ (Debian 13: scripts/apt-install.sh nodejs npm; Debian 12's nodejs is 18: use NodeSource's repository)" >&2
        exit 1
    fi
done
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
    echo "build.sh: componentize-js needs Node.js 20 or later, found $(node --version)" >&2
    exit 1
fi

# The stamp holds the hash of the lockfile node_modules was installed from. It lives inside
# node_modules, so deleting that folder also forgets the stamp.
stamp="$here/node_modules/.build-sh-lock.sha256"
lock_hash="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
    echo "build.sh: installing dependencies (npm ci)" >&2
    # No dependency needs install scripts, so they are not run.
    (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)
    echo "$lock_hash" >"$stamp"
fi
if [ "$out" = "--deps-only" ]; then
    exit 0
fi

# Inputs: the source, the WIT (-L follows wit/deps into the contract), the build script and
# the toolchain (the stamp changes with every `npm ci`).
if [ -f "$out" ] && [ -z "$(find -L "$here/src" "$here/wit" "$here/build.mjs" "$stamp" \
    -newer "$out" -print -quit)" ]; then
    echo "build.sh: $out is up to date" >&2
    exit 0
fi

exec node "$here/build.mjs" "$@"
