#!/usr/bin/env bash
# Sets everything up (venv, dependencies, default model) and starts the workstation on http://127.0.0.1:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/workstation app "$@"
