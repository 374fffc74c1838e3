#!/bin/sh
# Builds images from this checkout.
#   sh docker/build-images.sh [name ...]    (default: every app image)
# An app image, lcp/<app>:dev (docker/<app>/ beside apps/<app>/, and alice): turbo builds every
# dist/, pnpm deploy copies the app with only its production dependencies into
# docker/.build/<app>, and docker builds docker/<app>/Dockerfile on that folder FROM
# $LCP_BASE_IMAGE (default lcp-base/node:20, made by base-images.sh).
# A service image, lcp/<name>:dev (postfix, postgres): docker/<name>/ is the context, FROM
# $LCP_DEBIAN_IMAGE (default lcp-base/debian:12).
# Unchanged images come from Docker's layer cache.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/node_modules/.bin:$PATH" TURBO_TELEMETRY_DISABLED=1
is_app() { [ "$1" = alice ] || [ -d "apps/$1" ]; }
names=${*:-$(for f in docker/*/Dockerfile; do n=$(basename "$(dirname "$f")"); is_app "$n" && echo "$n"; done)}

# quiet unless it fails (the legacy builder's deprecation notice is not news)
build() {
  if ! log=$(docker build -q "$@" 2>&1); then
    echo "$log" >&2
    exit 1
  fi
}

built_dist=${LCP_DIST_BUILT:-}
for name in $names; do
  if is_app "$name"; then
    # turbo builds every dist/ once (skipped when the caller has just done it, as the e2e suite has)
    [ -n "$built_dist" ] || pnpm exec turbo run build --output-logs=errors-only >/dev/null
    built_dist=1
    # Alice's machine is the player with the agent and storage node it depends on
    package=@lcp/$name
    [ "$name" = alice ] && package=@lcp/player
    out=docker/.build/$name
    rm -rf "$out"
    pnpm --filter "$package" deploy --prod "$out" >/dev/null
    cp docker/healthcheck.js "$out/"
    find "docker/$name" -maxdepth 1 -type f ! -name Dockerfile -exec cp {} "$out/" \;
    build --build-arg BASE_IMAGE="${LCP_BASE_IMAGE:-lcp-base/node:20}" -t "lcp/$name:dev" -f "docker/$name/Dockerfile" "$out"
  else
    build --build-arg BASE_IMAGE="${LCP_DEBIAN_IMAGE:-lcp-base/debian:12}" -t "lcp/$name:dev" "docker/$name"
  fi
  echo "built lcp/$name:dev"
done
