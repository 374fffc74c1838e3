#!/bin/sh
# Makes sure a Docker engine answers. Where none does and this runs as root on Debian, it
# installs docker.io and starts dockerd in the background (logs: /var/log/lcp-dockerd.log).
# Otherwise it says what to do. Idempotent: returns at once when `docker info` answers.
set -eu
docker info >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "No Docker engine answers. Start one (or install Docker) and run again." >&2
  exit 1
fi
if ! command -v dockerd >/dev/null; then
  echo "docker/engine.sh: installing docker.io (Debian) for the container tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
if ! pgrep -x dockerd >/dev/null; then
  echo "docker/engine.sh: starting dockerd (log: /var/log/lcp-dockerd.log)"
  nohup dockerd >/var/log/lcp-dockerd.log 2>&1 &
fi
tries=0
until docker info >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -gt 60 ]; then
    echo "dockerd did not answer within 30 s; see /var/log/lcp-dockerd.log" >&2
    exit 1
  fi
  sleep 0.5
done
