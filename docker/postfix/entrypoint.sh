#!/bin/sh
# Writes Postfix's main.cf from the environment, then runs postfix in the foreground (PID 1, so
# `docker stop` shuts it down). Delivery: virtual mailboxes to maildirs owned by nobody.
set -eu
: "${LCP_POSTFIX_MAILBOXES:?LCP_POSTFIX_MAILBOXES must list the addresses to deliver}"
: "${LCP_POSTFIX_ACCEPT_FROM:=}" "${LCP_POSTFIX_HOSTNAME:=mailstore.example.org}"

# Debian's package was installed with "No configuration": main.cf is made here, from defaults
[ -f /etc/postfix/main.cf ] || : >/etc/postfix/main.cf
maps=/etc/postfix/lcp-mailboxes
: >"$maps"
domains=""
for address in $(echo "$LCP_POSTFIX_MAILBOXES" | tr ',' ' '); do
  user=${address%@*}
  domain=${address#*@}
  echo "$address $domain/$user/" >>"$maps"
  case " $domains " in *" $domain "*) ;; *) domains="$domains $domain" ;; esac
done

# the clients Postfix takes mail from: loopback and the named hosts (the gateway), nobody else
networks="127.0.0.0/8"
for client in $(echo "$LCP_POSTFIX_ACCEPT_FROM" | tr ',' ' '); do
  case "$client" in
    */*) networks="$networks $client" ;;
    *)
      tries=0
      until ip=$(getent ahostsv4 "$client" | awk 'NR==1 { print $1 }') && [ -n "$ip" ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 30 ] || { echo "lcp-postfix: cannot resolve $client" >&2; exit 1; }
        sleep 1
      done
      networks="$networks $ip/32"
      ;;
  esac
done

postconf -e \
  "compatibility_level = 3.6" \
  "myhostname = $LCP_POSTFIX_HOSTNAME" \
  "mydestination =" \
  "inet_interfaces = all" \
  "inet_protocols = ipv4" \
  "mynetworks = $networks" \
  "smtpd_client_restrictions = permit_mynetworks, reject" \
  "smtpd_relay_restrictions = permit_mynetworks, reject" \
  "virtual_mailbox_domains = $(echo $domains | tr ' ' ',')" \
  "virtual_mailbox_base = /var/mail/vhosts" \
  "virtual_mailbox_maps = texthash:$maps" \
  "virtual_uid_maps = static:65534" \
  "virtual_gid_maps = static:65534" \
  "virtual_minimum_uid = 1" \
  "alias_maps =" \
  "alias_database =" \
  "relayhost =" \
  "default_transport = error:this MTA delivers only to its own mailboxes" \
  "maillog_file = /dev/stdout" \
  "smtputf8_enable = no" \
  "smtpd_client_connection_count_limit = 0" \
  "smtpd_banner = \$myhostname ESMTP Postfix"
# nothing chrooted (no copies of resolv.conf and hosts to keep): the container is the isolation
for service in $(postconf -F | awk -F/ '$3 == "chroot = y" { print $1 "/" $2 }' | sed 's/ .*//'); do
  postconf -F "$service/chroot=n"
done
echo "lcp-postfix: delivering to$domains (mailboxes: $LCP_POSTFIX_MAILBOXES), accepting from $networks"
exec postfix start-fg
