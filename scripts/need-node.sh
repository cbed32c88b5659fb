#!/usr/bin/env bash
# Is there a Node.js new enough for componentize-js (plugins/js-activity), with npm?
#
#   scripts/need-node.sh MAJOR
#
# Installs Debian's nodejs and npm first when either is missing (Debian 12's nodejs is 18,
# Debian 13's is 20). Exits 0 when `node` reports major version MAJOR or later and `npm` is on
# PATH; otherwise prints the reason on stdout as one line ("needs Node.js 20 or later, found
# v18.19.0") and exits 1. The Makefile turns that line into an error (make plugins, make test)
# or a skip message (make run).
set -uo pipefail

min=${1:?usage: need-node.sh MAJOR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    # Its output goes to stderr: stdout carries only the reason.
    "$here/apt-install.sh" nodejs npm >&2 || echo "need-node.sh: installing nodejs and npm failed" >&2
fi
if ! command -v node >/dev/null; then
    echo "needs Node.js $min or later, and no \`node\` is installed"
    exit 1
fi
version=$(node --version 2>/dev/null)
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
case $major in
    '' | *[!0-9]*)
        echo "needs Node.js $min or later; $(command -v node) did not report its version"
        exit 1
        ;;
esac
if [ "$major" -lt "$min" ]; then
    echo "needs Node.js $min or later, found ${version:-major version $major}"
    exit 1
fi
if ! command -v npm >/dev/null; then
    echo "needs npm beside Node.js $version, and no \`npm\` is installed"
    exit 1
fi
