#!/usr/bin/env bash
# Create .venv (if needed) and install handsoff-nb with its dev, lpips, browser and docs extras (SETUP_EXTRAS=...
# to choose others; empty: the package alone), offline-safe:
# torch is pinned first (CPU wheel here), torchvision pinned to the release that matches it
# (installed without deps so it cannot replace torch), then the project. Log: .venv/setup.log
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
LOG=.venv/setup.log; : > "$LOG"
pipq() { pip "$@" >>"$LOG" 2>&1 || { echo "pip $* failed; last lines of $LOG:"; tail -30 "$LOG"; exit 1; }; }
echo "setup: installing into .venv (log: $LOG)"
python -c "import torch" 2>/dev/null || pipq install "torch==${TORCH_VERSION:-2.13.0}"
extras=${SETUP_EXTRAS-dev,lpips,browser,docs}  # tools/demo.sh sets none: the demo needs only the package
case ",$extras," in *,lpips,*|*,dev,*)  # lpips needs torchvision
  python -c "import importlib.util as u, sys; sys.exit(u.find_spec('torchvision') is None)" \
    || pipq install --no-deps "torchvision==${TORCHVISION_VERSION:-0.28.0}" ;;
esac
pipq install -e ".${extras:+[$extras]}"
python -c "import torch, handsoff_nb; print('setup: handsoff-nb', handsoff_nb.__version__, '| torch', torch.__version__)"
