#!/usr/bin/env bash
# Set up vigcv in ./.venv: Python 3.11 venv, the package and its pinned dependencies, and the
# checksum-verified model files. Idempotent: a second run only checks and takes a few seconds.
#   bash scripts/setup.sh          # for running vigcv
#   bash scripts/setup.sh --test   # also the test tools (pytest, ruff, mypy, nbclient, chromium)
#   bash scripts/setup.sh --notebooks   # also Jupyter, for the notebooks in notebooks/
#   (both flags together install both)
set -euo pipefail
cd "$(dirname "$0")/.."

wanted=()
for arg in "$@"; do
  case "$arg" in
    --test) wanted+=(test) ;;
    --notebooks) wanted+=(notebooks) ;;
  esac
done
extras=""
[ "${#wanted[@]}" -gt 0 ] && extras="[$(IFS=,; echo "${wanted[*]}")]"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  py=$(find_python) || { say "vigcv needs Python 3.11 (python3.11 not found)"; exit 2; }
  say "creating .venv with $py"
  if ! "$py" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    say "installing python3-venv (Debian)"
    as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv python3.11-venv >/dev/null ||
      as_root apt-get install -y -qq python3-venv >/dev/null
    "$py" -m venv .venv
  fi
fi

# Re-install only when the dependency list changed.
want="$(sha256sum pyproject.toml | cut -c1-16)$extras"
stamp=.venv/.vigcv-setup
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing vigcv$extras and its dependencies into .venv (about a minute the first time)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras" 2>&1 |
    grep -v -e '^WARNING: Location' -e 'is ignored: it is neither' >&2 || true
  .venv/bin/python -c 'import vigcv, mediapipe, onnxruntime, av' ||
    { say "installation failed; see the pip messages above"; exit 1; }
  echo "$want" > "$stamp"
fi

# the tests also exercise the optional models (settings that are off by default)
optional=""
[[ "$extras" == *test* ]] && optional="--optional"
.venv/bin/vigcv models fetch $optional >/dev/null || { say "could not fetch the model files"; exit 1; }

if [[ "$extras" == *test* ]] && ! command -v chromium >/dev/null 2>&1; then
  say "installing Debian's chromium and chromium-driver for the review page's browser tests"
  { as_root apt-get update -qq && as_root apt-get install -y -qq chromium chromium-driver >/dev/null; } ||
    say "could not install chromium: the browser tests will be skipped (they say so loudly)"
fi
[[ "$extras" == *notebooks* ]] && say "open the notebooks with: .venv/bin/jupyter lab notebooks/"
say "ready"
