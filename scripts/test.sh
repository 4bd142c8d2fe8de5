#!/usr/bin/env bash
# Sets everything up (venv, test dependencies, default model, headless Chromium) and runs the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k vault`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# System tools some tests drive: headless Chromium (browser end-to-end test), poppler (PDF rendered to an image),
# strace (the egress and hostile-media tests trace every network syscall of the processes the product starts).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftoppm ] || ! command -v strace >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian packages: chromium chromium-driver poppler-utils strace"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils strace >/dev/null
  else
    echo "==> chromium/poppler-utils/strace missing and not root: the tests that need them will be skipped" >&2
  fi
fi
echo "==> ruff (lint) and mypy (types), configured in pyproject.toml"
.venv/bin/ruff check workstation tests scripts
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
