#!/bin/sh
# Builds the app images lcp/<app>:dev from this checkout: turbo builds every dist/, pnpm deploy
# copies each app with only its production dependencies into docker/.build/<app>, and docker
# builds docker/<app>/Dockerfile on that folder, FROM $LCP_BASE_IMAGE (default: lcp-base/node:20,
# which docker/base-images.sh makes). Unchanged apps hit Docker's layer cache.
#   sh docker/build-images.sh [app ...]     (default: every folder of docker/ with a Dockerfile)
set -eu
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/node_modules/.bin:$PATH" TURBO_TELEMETRY_DISABLED=1
base=${LCP_BASE_IMAGE:-lcp-base/node:20}
apps=${*:-$(for f in docker/*/Dockerfile; do basename "$(dirname "$f")"; done | grep -v '^postgres$')}
# turbo builds every dist/ (skipped when the caller has just done it, as the e2e suite has)
[ -n "${LCP_DIST_BUILT:-}" ] || pnpm exec turbo run build --output-logs=errors-only >/dev/null
for app in $apps; do
  # Alice's machine is the player with the agent and storage node it depends on
  package=@lcp/$app
  [ "$app" = alice ] && package=@lcp/player
  out=docker/.build/$app
  rm -rf "$out"
  pnpm --filter "$package" deploy --prod "$out" >/dev/null
  cp docker/healthcheck.js "$out/"
  find "docker/$app" -maxdepth 1 -type f ! -name Dockerfile -exec cp {} "$out/" \;
  # quiet unless it fails (the legacy builder's deprecation notice is not news)
  if ! log=$(docker build -q --build-arg BASE_IMAGE="$base" -t "lcp/$app:dev" -f "docker/$app/Dockerfile" "$out" 2>&1); then
    echo "$log" >&2
    exit 1
  fi
  echo "built lcp/$app:dev"
done
