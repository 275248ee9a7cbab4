#!/usr/bin/env bash
# The wheel carries the product. Build the wheel from this checkout, install it into a fresh venv
# (pinned CPU torch first, then the wheel with its `course` extra), and from a temporary folder outside the checkout
# run `handsoff-nb info`, a short `demo`, `generate`, `notebooks`, import the API, and execute the copied
# 00_core notebook. Prints the wheel's size, its file summary and each step's wall time.
#
#   bash tools/test_wheel.sh            (tools/test.sh runs it; needs the .venv of tools/setup.sh for the build)
#
# pip reuses its cache, so no download happens where the pinned torch was installed before. Sizes are the [test]
# profile's (HANDSOFF_PROFILE=test) plus small --n values: this checks the product, not its quality.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
PY=${PYTHON:-$(command -v python || command -v python3)}
export PIP_DISABLE_PIP_VERSION_CHECK=1
work=$(mktemp -d "${TMPDIR:-/tmp}/handsoff-wheel.XXXXXX")
# removing a venv with torch can take minutes on a slow disk: do it in the background
[ -n "${KEEP_WHEEL_TEST:-}" ] || trap '(rm -rf "$work" >/dev/null 2>&1 &)' EXIT
start=$(date +%s)
step() { echo "== wheel: $*"; }
timed() {  # timed LABEL CMD...: run CMD, print its wall time, keep its output in $work/LABEL.log (shown on failure)
  local label=$1 t0=$EPOCHREALTIME rc=0; shift
  "$@" >"$work/$label.log" 2>&1 || rc=$?
  awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$label" -v c="$*" 'BEGIN { printf "   %-10s %6.1fs  (%s)\n", l, b - a, c }'
  if [ "$rc" != 0 ]; then echo "FAILED ($rc): $*"; tail -40 "$work/$label.log"; exit "$rc"; fi
}

step "build"
rm -rf build  # setuptools' staging folder: stale files there would end up in the wheel
timed build "$PY" -m pip wheel --no-deps --no-build-isolation -w "$work/dist" .
rm -rf build
wheel=$(ls "$work"/dist/handsoff_nb-*.whl)
"$PY" - "$wheel" <<'EOF'
import sys, zipfile
from collections import Counter
from pathlib import Path
w = Path(sys.argv[1]); z = zipfile.ZipFile(w)
mb = w.stat().st_size / 2**20
print(f"   {w.name}: {mb:.1f} MB ({w.stat().st_size:,} bytes), {len(z.namelist())} files")
groups = Counter()
for i in z.infolist():
    parts = i.filename.split('/')
    key = '/'.join(parts[:3]) if parts[:2] == ['handsoff_nb', 'course'] and len(parts) > 3 else '/'.join(parts[:-1] or parts)
    groups[key] += i.file_size
for k in sorted(groups): print(f"     {groups[k] / 2**20:6.2f} MB  {k}/")
names = set(z.namelist())
need = ['handsoff_nb/cli.py', 'handsoff_nb/course/settings.ini', 'handsoff_nb/course/data_samples/toyfaces_g64.pt',
        'handsoff_nb/course/data_samples/judge_unet.pt', 'handsoff_nb/course/data_samples/toyfaces_e64.pt',
        'handsoff_nb/course/data_samples/toyfaces_labeled/meta.json', 'handsoff_nb/course/nbs/00_core.ipynb',
        *[f'handsoff_nb/course/benchmarks/results/{f}' for f in  # the results notebooks read at run time
          ('toyfaces.json', 'gan_ablation.json', 'kp_visibility.json', 'downstream_cpu.json', 'downstream_cpu.md')]]
missing = [n for n in need if n not in names]
assert not missing, f"the wheel lacks {missing}"
assert mb < 30, f"the wheel is {mb:.1f} MB (limit 30 MB)"
EOF

step "fresh venv, pinned CPU torch, the wheel (+ its course extra)"
timed venv "$PY" -m venv "$work/venv"
vpip() { "$work/venv/bin/python" -m pip "$@"; }
timed torch vpip install "torch==${TORCH_VERSION:-2.13.0}"
timed install vpip install "$wheel[course]"

step "from $work/run (outside the checkout), HANDSOFF_PROFILE=test"
mkdir -p "$work/run"; cd "$work/run"
export PATH="$work/venv/bin:$PATH" HANDSOFF_PROFILE=test
unset VIRTUAL_ENV PYTHONPATH
timed info handsoff-nb info
python - "$work/info.log" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print('   info:', {k: d[k] for k in ('version', 'installed', 'course', 'threads', 'omp_wait_policy', 'notebooks')})
assert d['installed'], "info: not the installed copy"
EOF
timed demo handsoff-nb demo --out demo --n 32 --n-generate 16
for f in labeled_few.png generated.png gan_samples.png gan_quality.json part_areas.png handsoff/dataset/dataset.json; do
  [ -f "demo/$f" ] || { echo "demo did not write $f"; exit 1; }
done
timed generate handsoff-nb generate --out gen --n 8 --lg-steps 5 --shard-size 4
[ -f gen/dataset/dataset.json ] || { echo "generate wrote no dataset.json"; exit 1; }
timed notebooks handsoff-nb notebooks course
timed api python -c "
from handsoff_nb.core import course_root, in_package
from handsoff_nb.data import shipped_labeled
from handsoff_nb.stylegan2 import shipped_generator
from handsoff_nb.inversion import shipped_encoder
G, w_avg, cfg = shipped_generator(); E = shipped_encoder(); few = shipped_labeled()
assert in_package(course_root()) and few['img'].shape[-1] == G.size == E.cfg.size, (course_root(), G.size)
print('API ok:', course_root(), 'G', G.size, 'labeled', tuple(few['img'].shape))"
cd course/nbs  # as JupyterLab runs a notebook: in its own folder
IN_TEST=1 timed notebook exec_nb 00_core.ipynb --dest 00_core.run.ipynb --exc-stop
echo "   $(tail -1 "$work/api.log")"
echo "== wheel: ok in $(( $(date +%s) - start ))s"
