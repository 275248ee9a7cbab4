#!/usr/bin/env bash
# Set up (tools/setup.sh) and run every check CI runs: notebooks clean and exported, all notebooks
# executed (nbdev-test, quick sizes, slow/gpu cells skipped), then the pytest suite, which includes the
# real-browser widget test (Debian chromium is installed here when missing, if we are root with apt-get) and
# the offline docs build on two notebooks, and last the wheel (tools/test_wheel.sh: build, fresh venv, commands run
# from a folder outside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
. .venv/bin/activate
# idle OpenMP threads sleep instead of spinning: notebooks run two at a time on shared cores (see 00_core, "A shared CPU")
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
echo "== Chromium for tests/test_browser.py"
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$chromium" ]; then
  echo "found $chromium"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  alog=.venv/apt-chromium.log; t0=$(date +%s)
  apt_get() { DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -o DPkg::Lock::Timeout=120 "$@" >>"$alog" 2>&1; }
  : > "$alog"
  # a fresh machine may have no package lists yet: then update once and retry
  if apt_get install -y --no-install-recommends chromium \
     || { apt_get update && apt_get install -y --no-install-recommends chromium; }; then
    echo "installed Debian chromium in $(( $(date +%s) - t0 ))s (log: $alog)"
  else
    echo "!!!!!!!! WARNING: apt-get could not install chromium ($(( $(date +%s) - t0 ))s); tests/test_browser.py" \
         "will be SKIPPED. Last lines of $alog:"
    tail -15 "$alog" | sed 's/^/!!   /'
  fi
else
  echo "!!!!!!!! WARNING: no $chromium and no way to install it (needs root and apt-get);" \
       "tests/test_browser.py will be SKIPPED"
fi
start=$(date +%s)
echo "== nbdev-clean leaves no diff"
nbdev-clean
git diff --exit-code -- nbs || { echo "notebooks were not clean: run nbdev-clean and commit"; exit 1; }
echo "== nbdev-export leaves no diff"
nbdev-export
git diff --exit-code -- handsoff_nb || { echo "library out of sync: run nbdev-export and commit"; exit 1; }
untracked=$(git status --porcelain --untracked-files=all -- handsoff_nb nbs | grep '^??' || true)
[ -z "$untracked" ] || { echo "untracked generated files:"; echo "$untracked"; exit 1; }
echo "== nbdev-test (all notebooks)"
nbdev-test --n-workers 2 --timing --do-print
echo "== pytest"
rc=0; python -m pytest -q -rs tests --ignore tests/test_notebooks.py -p no:cacheprovider || rc=$?
art=${HANDSOFF_ARTIFACTS:+$HANDSOFF_ARTIFACTS/browser_test}; art=${art:-runs/browser_test}
if [ -f "$art/page.png" ]; then echo "browser test artefacts (screenshots, logs): $(ls -d "$art"/*)"; fi
[ "$rc" = 0 ] || exit "$rc"
echo "== the wheel: built, installed in a fresh venv, used from a folder outside the checkout"
bash tools/test_wheel.sh
echo "== tools/test.sh finished in $(( $(date +%s) - start ))s (after setup)"
