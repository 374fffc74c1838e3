#!/bin/sh
# Outside programs the tests use, from Debian: Python's zeep and PHP's SoapClient (interop with
# the issuer's WSDL), Chromium (bank.com's browser tests, driven by playwright-core), and swaks and
# Postfix (the mail gateway's tests: an outside SMTP client and the downstream MTA, which the tests
# run with their own config directory on loopback; the system's postfix is left unconfigured).
# Idempotent: installs only what is missing; says what it does.
set -eu
missing=""
/usr/bin/python3 -c 'import zeep' 2>/dev/null || missing="$missing python3-zeep"
php -m 2>/dev/null | grep -qi '^soap$' || missing="$missing php-cli php-soap"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v swaks >/dev/null || missing="$missing swaks"
[ -x /usr/sbin/postfix ] || missing="$missing postfix"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "test tools missing:$missing — install them (Debian: apt-get install$missing) and run again" >&2
  exit 1
fi
echo "installing test tools:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# "No configuration": postfix installs without a main.cf, so no system MTA starts or takes port 25.
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
