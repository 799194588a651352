#!/usr/bin/env bash
# System packages the tests need beyond pip: a headless Chromium that renders the HTML report
# (tests/test_report.py). Debian/Ubuntu; run as root or with sudo. Idempotent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
