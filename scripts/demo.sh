#!/usr/bin/env bash
# Set up (idempotent), make a two-minute synthetic parent-child session, run vigcv on it and
# print the ranked moments. Results land in ./demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/vigcv demo --out demo "$@"
