#!/usr/bin/env bash
# Installs Debian packages by name (as root, or through sudo), refreshing the package lists once.
set -euo pipefail
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing Debian packages: $*" >&2
run apt-get update -qq
DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq "$@"
