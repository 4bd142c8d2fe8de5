#!/usr/bin/env bash
# Sets everything up (venv, test dependencies, default model, headless Chromium) and runs the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k vault`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing headless Chromium for the browser test (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "==> /usr/bin/chromium missing and not root: the browser test will be skipped" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
