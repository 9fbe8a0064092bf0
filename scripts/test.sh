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
# Two test processes (VIGCV_TEST_WORKERS; 0 = one process), each test file kept in one of them so
# that its module fixtures (a synthetic session extracted once) are computed once; "-n 0" among
# the extra arguments runs everything in this process (for pdb).
echo "== pytest"
python -m pytest -q -p no:cacheprovider -n "${VIGCV_TEST_WORKERS:-2}" --dist loadfile "$@"
