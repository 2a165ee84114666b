#!/usr/bin/env bash
# Installs (when missing) what the test suite needs outside Python. Idempotent; safe to run often.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-chromium.sh
bash scripts/install-postgres.sh
