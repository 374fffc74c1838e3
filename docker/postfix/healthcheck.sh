#!/bin/bash
# Healthy when smtpd on port 25 greets with 220.
exec 3<>/dev/tcp/127.0.0.1/25 || exit 1
read -r -t 8 greeting <&3 || exit 1
printf 'QUIT\r\n' >&3
case "$greeting" in 220*) exit 0 ;; *) exit 1 ;; esac
