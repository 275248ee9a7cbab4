#!/usr/bin/env bash
# Set up (tools/setup.sh) and run every check CI runs: notebooks clean and exported, all notebooks
# executed (nbdev-test, quick sizes, slow/gpu cells skipped), then the pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
. .venv/bin/activate
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
python -m pytest -q tests --ignore tests/test_notebooks.py -p no:cacheprovider
echo "== tools/test.sh finished in $(( $(date +%s) - start ))s (after setup)"
