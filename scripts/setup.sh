#!/usr/bin/env bash
# Set up the project in ./.venv: pinned PyTorch, the package in editable mode, and with "test" the
# test dependencies ("app": the web page's). Safe to re-run; only Python 3.10+ and pip are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras=""
for arg in "$@"; do
  case "$arg" in
    test) extras="[test]" ;;
    train) extras="[train]" ;;
    app) extras="[app]" ;;
    *) echo "usage: scripts/setup.sh [test|train|app]" >&2; exit 2 ;;
  esac
done
# jpeg4py decodes through the system libturbojpeg; install it when we can (root with apt-get).
# Without it everything still works: JPEGs are then decoded by OpenCV.
if [ "$extras" = "[test]" ] && ! ldconfig -p 2>/dev/null | grep -q libturbojpeg; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get install -y -q libturbojpeg0 >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libturbojpeg0 >/dev/null 2>&1; }) \
      || echo "note: could not install libturbojpeg0; JPEG decoding falls back to OpenCV"
  else
    echo "note: libturbojpeg0 not installed (needs root and apt-get); JPEG decoding falls back to OpenCV"
  fi
fi
# The web page's browser test (tests/test_app_browser.py) drives Debian's chromium through Playwright;
# without it that test skips and says why. Playwright's own browser download is never used.
if [ "$extras" = "[test]" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }) \
      || echo "note: could not install chromium; the browser test will skip"
  else
    echo "note: chromium not installed (needs root and apt-get); the browser test will skip"
  fi
fi
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
# visdom (optional debug views) ships only an sdist whose build needs pkg_resources, which
# current setuptools dropped: build it against an older setuptools, without build isolation.
if [ "$extras" = "[test]" ] && ! .venv/bin/python -c "import visdom" >/dev/null 2>&1; then
  { .venv/bin/python -m pip install --quiet --disable-pip-version-check "setuptools<81" wheel \
    && .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-build-isolation "visdom==0.2.4"; } \
    >"$log.visdom" 2>&1 || echo "note: visdom could not be installed; its tests will skip (see pip output above)"
  grep -v -E "^WARNING: Location .* is ignored" "$log.visdom" || true
  rm -f "$log.visdom"
fi
.venv/bin/python -c "import pytracking_ext, torch, cv2; from pytracking_ext.utils.jpeg import jpeg_backend; print('setup ok: torch', torch.__version__, '| opencv', cv2.__version__, '| jpeg', jpeg_backend()[0])"
