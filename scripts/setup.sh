#!/usr/bin/env bash
# Create .venv and install advisor into it. Idempotent; re-run after pulling.
#   scripts/setup.sh          the bot and its CLI
#   scripts/setup.sh --test   the same plus the test tools (pytest, pytest-postgresql, ruff)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "advisor needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv

pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# torch first, pinned to the CPU build: any other torch requirement pulls a multi-GB CUDA build.
"${pip[@]}" "torch==2.13.0"
if [ "${1:-}" = "--test" ]; then
  "${pip[@]}" -e ".[test]"
else
  "${pip[@]}" -e .
  # Build the index now, with torch, so that it carries the ONNX export: from here on
  # `advisor ask` and `advisor serve` run on onnxruntime and never import torch.
  .venv/bin/advisor index build
fi
