#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (tests/test_web_browser.py) when /usr/bin/chromium is
# missing. Idempotent. Never fails the build: without chromium the browser tests skip and say why.
set -uo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "chromium: present ($CHROMIUM)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "chromium: missing, and installing it needs root (apt-get install -y chromium); browser tests will skip" >&2
  exit 0
fi

echo "chromium: installing with apt-get"
export DEBIAN_FRONTEND=noninteractive
if "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null; then
  echo "chromium: installed ($("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"))"
else
  echo "chromium: apt-get could not install it; browser tests will skip" >&2
  # In CI a skipped browser test would hide a broken install: fail loudly there instead.
  [ -n "${CI:-}" ] && exit 1
fi
exit 0
