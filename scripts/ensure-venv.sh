#!/usr/bin/env bash
# Creates a Python virtual environment at $1, installing Debian's python3-venv first when the
# interpreter lacks the venv module (as Debian's python3 does until that package is added).
set -euo pipefail
venv=$1
[ -x "$venv/bin/pip" ] && exit 0
if ! python3 -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  echo "python3 cannot create a venv; installing Debian's python3-venv" >&2
  "$(dirname "$0")/apt-install.sh" python3-venv
  python3 -m venv "$venv"
fi
