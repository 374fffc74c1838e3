#!/bin/sh
# The README's second command: set up, install what the tests use from outside the
# workspace (Debian packages and a Docker engine; root needed only the first time), make the
# base images the containers build from, then lint, type-check and run every test suite.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
sh scripts/install-test-tools.sh
sh docker/engine.sh
sh docker/base-images.sh
export PATH="$PWD/.tools/node_modules/.bin:$PATH" TURBO_TELEMETRY_DISABLED=1
pnpm exec turbo run lint typecheck test --output-logs=new-only --concurrency=1
