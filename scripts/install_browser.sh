#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (Playwright cannot download its own browsers
# here). Idempotent: does nothing when /usr/bin/chromium already exists.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser.sh: /usr/bin/chromium is missing and this is not root (no sudo)." >&2
        echo "Install it with: apt-get update && apt-get install -y chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation

if [ ! -x /usr/bin/chromium ]; then
    echo "install_browser.sh: chromium was installed but /usr/bin/chromium is missing" >&2
    exit 1
fi
