#!/usr/bin/env bash
# Set up the project in ./.venv: pinned PyTorch, the package in editable mode, and with "test" the
# test dependencies. Safe to re-run; only Python 3.10+ and pip are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras=""
for arg in "$@"; do
  case "$arg" in
    test) extras="[test]" ;;
    *) echo "usage: scripts/setup.sh [test]" >&2; exit 2 ;;
  esac
done
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# A quiet install; pip's own exit status decides, its noise about local index folders is dropped.
log="$(mktemp)"
status=0
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}" >"$log" 2>&1 || status=$?
grep -v -E "^WARNING: Location .* is ignored" "$log" || true
rm -f "$log"
[ "$status" -eq 0 ] || { echo "setup failed: pip exited with $status" >&2; exit "$status"; }
.venv/bin/python -c "import pytracking_ext, torch, cv2; print('setup ok: torch', torch.__version__, '| opencv', cv2.__version__)"
