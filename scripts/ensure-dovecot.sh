#!/usr/bin/env bash
# Makes sure Dovecot's IMAP server binary is available for the IMAP integration tests
# (test/support/dovecot.ts starts its own private instance; the system service is not used).
# Idempotent and silent when Dovecot is already installed.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"

DOVECOT=/usr/sbin/dovecot
[[ -x "$DOVECOT" ]] && exit 0

apt_install ensure-dovecot dovecot-imapd
if [[ ! -x "$DOVECOT" ]]; then
  echo "ensure-dovecot: dovecot-imapd installed but $DOVECOT is still missing." >&2
  exit 1
fi
echo "ensure-dovecot: $("$DOVECOT" --version)" >&2
