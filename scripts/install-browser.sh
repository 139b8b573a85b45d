#!/usr/bin/env bash
# Debian's Chromium for the browser test (Playwright drives it via executable_path).
# Playwright's own browser download (`playwright install`) is never used: it needs the internet
# and pins a build we do not control. Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-browser: /usr/bin/chromium is missing; run as root: apt-get install chromium" >&2
        exit 1
    fi
fi

echo "Installing Debian's chromium (for the browser test)..."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
apt=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -qq -o Dpkg::Use-Pty=0)
if ! { "${apt[@]}" update && "${apt[@]}" install -y chromium; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-browser: apt-get could not install chromium (output above)" >&2
    exit 1
fi
echo "Installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
