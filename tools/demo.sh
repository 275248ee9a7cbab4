#!/usr/bin/env bash
# Set up (tools/setup.sh) and run the main job on the bundled toy model: writes outputs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
. .venv/bin/activate
handsoff-nb demo --out outputs/demo "$@"
