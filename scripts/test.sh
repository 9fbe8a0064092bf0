#!/usr/bin/env bash
# Set up (idempotent) and run every check: ruff lint, ruff format, mypy on vigcv/, and pytest.
# Extra arguments go to pytest, e.g.  bash scripts/test.sh -k ingest -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff check"; ruff check vigcv tests scripts
echo "== ruff format --check"; ruff format --check vigcv tests scripts
echo "== mypy vigcv"; mypy vigcv
echo "== pytest"; python -m pytest -q -p no:cacheprovider "$@"
