#!/bin/sh
# Sets up the workspace on a machine that has only Node 20 and npm:
# pnpm (pinned, installed into .tools/ so no root is needed), dependencies, build.
set -eu
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
PNPM=.tools/node_modules/.bin/pnpm
export PATH="$PWD/.tools/node_modules/.bin:$PATH" # turbo finds pnpm on PATH
if [ ! -x "$PNPM" ] || [ "$($PNPM --version)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION into .tools/"
  npm install --silent --no-save --prefix .tools "pnpm@$PNPM_VERSION" >/dev/null
fi

# native addons (better-sqlite3) build against Node's own headers; prebuilt downloads may be unreachable
export npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}"
"$PNPM" install --frozen-lockfile --reporter=append-only
"$PNPM" exec turbo run build --output-logs=errors-only
