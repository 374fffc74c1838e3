#!/bin/sh
# The README's first command: set up, then replay the paper's example on the embedded default.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
exec node apps/demo/dist/main.js "$@"
