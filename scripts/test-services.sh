#!/usr/bin/env bash
# Installs (when missing) what the test suite needs outside Python. Idempotent; safe to run often.
set -euo pipefail
echo "test services: nothing extra needed yet"
