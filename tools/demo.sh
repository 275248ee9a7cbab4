#!/usr/bin/env bash
# Set up (tools/setup.sh, the package without extras) and run the main job on the bundled toy model: writes
# outputs/demo/ (the labeled few, HandsOff's first labeled batch and its preview early, then the rest).
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_EXTRAS=${SETUP_EXTRAS-} bash tools/setup.sh  # the package alone: the demo needs no test or docs tools
. .venv/bin/activate
handsoff-nb demo --out outputs/demo "$@"
