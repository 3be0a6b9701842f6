#!/usr/bin/env bash
# Set up (with the test tools) and run the whole suite. Extra arguments go to pytest.
# PostgreSQL tests start a throwaway server from the local binaries (apt-get install postgresql);
# without them those tests skip with the reason and the rest still run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
