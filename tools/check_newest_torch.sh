#!/usr/bin/env bash
# Check handsoff-nb against the newest torch/torchvision pair, what an unpinned
# `pip install torch torchvision lpips` resolves: torch 2.14.1 + torchvision 0.29.1 (CUDA builds that also
# run on a CPU machine; CI tests the pinned pair torch 2.13.0+cpu + torchvision 0.28.0).
# A fresh venv under runs/newest_torch/ (gitignored, about 5 GB; kept, so a rerun only re-checks;
# NEWEST_FRESH=1 rebuilds it). torch and torchvision are installed first, then lpips and the project (-e .)
# under a constraint file that pins the pair, so nothing upgrades torch. Prints the versions, each check
# and a last line `newest torch: PASS|FAIL (...)`; exits 0 only on PASS.
# Usage: bash tools/check_newest_torch.sh   (NEWEST_TORCH=2.14.1 NEWEST_TORCHVISION=0.29.1 to pick another pair)
set -uo pipefail
cd "$(dirname "$0")/.."
TORCH=${NEWEST_TORCH:-2.14.1}; TV=${NEWEST_TORCHVISION:-0.29.1}
dir=runs/newest_torch; venv=$dir/venv; log=$dir/pip.log; tmp=$dir/tmp
mkdir -p "$dir"; rm -rf "$tmp"; mkdir -p "$tmp"
[ "${NEWEST_FRESH:-0}" = 1 ] && rm -rf "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} PYTHONNOUSERSITE=1
py=$venv/bin/python
have_pair() {
  "$py" - "$TORCH" "$TV" <<'EOF' 2>/dev/null
import sys, importlib.metadata as m
sys.exit(not (m.version('torch').split('+')[0] == sys.argv[1] and m.version('torchvision') == sys.argv[2]
              and m.version('lpips') and m.version('handsoff-nb') and m.version('pytest')))
EOF
}
if have_pair; then
  echo "== reusing $venv (torch $TORCH, torchvision $TV; NEWEST_FRESH=1 to rebuild)"
else
  echo "== fresh venv $venv: torch==$TORCH torchvision==$TV, then lpips and -e . (log: $log)"
  rm -rf "$venv"; python3 -m venv "$venv"
  printf 'torch==%s\ntorchvision==%s\n' "$TORCH" "$TV" > "$dir/pins.txt"
  : > "$log"; t0=$(date +%s)
  pipi() { "$venv/bin/pip" install "$@" >>"$log" 2>&1 || { echo "pip install $* failed:"; tail -20 "$log";
           echo "newest torch: FAIL (install)"; exit 1; }; }
  pipi "torch==$TORCH" "torchvision==$TV"
  pipi -c "$dir/pins.txt" lpips pytest
  pipi -c "$dir/pins.txt" -e .
  echo "installed in $(( $(date +%s) - t0 ))s; wheels taken from local disk: $(grep -c '^Processing /' "$log");" \
       "downloaded: $(grep -c '^ *Downloading ' "$log"), in all" \
       "$(grep -o '^ *Downloading .*(\([0-9.]*\) \([kM]B\))' "$log" | sed 's/.*(\([0-9.]*\) \([kM]B\))/\1 \2/' |
          awk '{s += $2 == "kB" ? $1 / 1000 : $1} END {printf "%.1f MB", s}')"
  grep '^ *Downloading ' "$log" | sed 's/^ *Downloading /   /' | head -20
fi
. "$venv/bin/activate"
"$py" -c "import sys, torch, torchvision, lpips, handsoff_nb
from importlib.metadata import version
print(f'python {sys.version.split()[0]} | torch {torch.__version__} | torchvision {torchvision.__version__}'
      f' | lpips {version(\"lpips\")} | handsoff-nb {handsoff_nb.__version__} | cuda {torch.cuda.is_available()}')" \
  || true  # plain imports: informative only (with the pinned pair `import torchvision` alone would fail)

passed=(); failed=()
check() {  # check NAME CMD...: run, show the tail, record; 134 = C++ abort (the bug this script guards against)
  local name=$1; shift; local t0=$SECONDS
  "$@" > "$tmp/$name.log" 2>&1; local rc=$?
  tail -4 "$tmp/$name.log" | sed 's/^/   | /'
  if [ $rc = 0 ]; then passed+=("$name"); echo "ok   $name ($(( SECONDS - t0 ))s)"
  else failed+=("$name(rc=$rc)"); echo "FAIL $name: exit $rc$([ $rc = 134 ] && echo ', C++ abort') (log: $tmp/$name.log)"; fi
}
check info handsoff-nb info
check import_lpips "$py" -c "from handsoff_nb import perceptual as P
lp = P.import_lpips(); import torchvision
print('lpips imported from', lp.__file__, '| torchvision', torchvision.__version__,
      '| stand-in schemas:', P._tv_lib is not None)"
check make_lpips "$py" -c "import torch, warnings
from handsoff_nb.perceptual import make_lpips, lpips_distance
warnings.simplefilter('ignore')
model, info = make_lpips(backbone='random')  # offline: the package's lin weights, pnet_rand trunk
x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
d = lpips_distance(model, x, x.flip(-1))
assert d.shape == (2,) and (d > 0).all() and lpips_distance(model, x, x).abs().max() < 1e-6, d
print(info, '| d =', [round(v, 4) for v in d.tolist()])"
check generate env HANDSOFF_PROFILE=test handsoff-nb generate --n 8 --refine-steps 2 --out "$tmp/generated"
check test_perceptual "$py" -m pytest -q -p no:cacheprovider tests/test_perceptual.py
n=$(( ${#passed[@]} + ${#failed[@]} ))
vers=$("$py" -c "import torch, torchvision; print(f'torch {torch.__version__}, torchvision {torchvision.__version__}')" 2>/dev/null)
if [ ${#failed[@]} = 0 ]; then echo "newest torch: PASS ($n/$n checks; $vers)"; exit 0
else echo "newest torch: FAIL (${failed[*]}; ${#passed[@]}/$n passed; $vers)"; exit 1; fi
