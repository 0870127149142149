# Sourced by scripts/run and scripts/test: find Python >= 3.12, make .venv, install the project.
# Usage: source scripts/_bootstrap.sh [extras]   e.g. "test"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  local candidates=()
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  candidates+=(python3.14 python3.13 python3.12)
  if command -v pyenv >/dev/null 2>&1; then
    local v
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])(\.|$)' | sort -rV); do
      candidates+=("$(pyenv root)/versions/$v/bin/python3")
    done
  fi
  candidates+=(python3 python)
  local c
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
  if ! PY="$(find_python)"; then
    found="$(python3 --version 2>&1 || echo 'no python3')"
    echo "Clinic CRM needs Python 3.12 or newer (Django 6.1 requires it); found: $found." >&2
    echo "Install one (e.g. 'pyenv install 3.12' or 'uv python install 3.12'), or point PYTHON=/path/to/python3.12." >&2
    exit 1
  fi
  echo "Creating .venv with $PY ($("$PY" --version))"
  rm -rf .venv
  "$PY" -m venv .venv
fi

EXTRAS="${1:-}"
STAMP=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${EXTRAS:-base}"
if [ ! -f "$STAMP" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "$EXTRAS" ]; then
    .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
  else
    .venv/bin/python -m pip install --quiet -e .
  fi
  touch "$STAMP"
fi
mkdir -p var
