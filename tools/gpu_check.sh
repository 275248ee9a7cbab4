#!/usr/bin/env bash
# The GPU check in one command, for the moment a GPU is at hand (expected about 3 minutes on one H100 from the
# parts' earlier timings; each part has a time limit, at most 10 minutes in all):
# the CUDA tests, `HANDSOFF_PROFILE=cpu handsoff-nb demo`, `handsoff-nb benchmark quick`, GAN training speed at
# the [gpu] profile and peak GPU memory, as one JSON summary printed and written to $1 (default:
# $OUT/gpu_check.json when $OUT is set, else runs/gpu_check.json); logs beside it. Details: tools/gpu_check.py.
# Without CUDA it prints {"skipped": "no CUDA"} and exits 0.
#
# A bare GPU machine with its own torch needs no install of the project (the checkout is put on PYTHONPATH),
# only the two pure-Python wheels it may lack (lpips for the LPIPS CUDA test, fastcore). Fetch them here first:
#   bash tools/gpu_check.sh --prepare      # → .whl/ (git-ignored through .git/info/exclude)
# then copy .whl/ along with the checkout and run `bash tools/gpu_check.sh` there: it installs them into a temp dir.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --prepare ]; then
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
  exec python3 -m pip download -q --no-deps --only-binary=:all: -d .whl lpips==0.1.4 fastcore
fi
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ]; then PY=python
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3; fi
if ls .whl/*.whl >/dev/null 2>&1 && ! "$PY" -c "import lpips, fastcore" 2>/dev/null; then
  site=$(mktemp -d)
  PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$site" .whl/*.whl \
    && export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
exec "$PY" tools/gpu_check.py "$@"
