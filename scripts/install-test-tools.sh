#!/bin/sh
# Outside programs the tests use, from Debian: Python's zeep and PHP's SoapClient (interop with
# the issuer's WSDL) and Chromium (bank.com's browser tests, driven by playwright-core).
# Idempotent: installs only what is missing; says what it does.
set -eu
missing=""
/usr/bin/python3 -c 'import zeep' 2>/dev/null || missing="$missing python3-zeep"
php -m 2>/dev/null | grep -qi '^soap$' || missing="$missing php-cli php-soap"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "test tools missing:$missing — install them (Debian: apt-get install$missing) and run again" >&2
  exit 1
fi
echo "installing test tools:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
