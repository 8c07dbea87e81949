#!/usr/bin/env bash
# Makes sure Dovecot's IMAP server binary is available for the IMAP integration tests
# (test/support/dovecot.ts starts its own private instance; the system service is not used).
# Idempotent and silent when Dovecot is already installed.
set -euo pipefail

DOVECOT=/usr/sbin/dovecot
POLICY=/usr/sbin/policy-rc.d

if [[ -x "$DOVECOT" ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-dovecot: $DOVECOT is missing and apt-get is not available;" \
    "install Dovecot's IMAP server (Debian/Ubuntu package dovecot-imapd) by hand." >&2
  exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "ensure-dovecot: need root (or sudo) to install dovecot-imapd." >&2
    exit 1
  fi
fi

# The package's postinst would start the system-wide Dovecot on ports 143/993. The tests do not
# need it, so forbid service starts for the duration of the install (exit code 101 is Debian's
# "action forbidden" answer for invoke-rc.d), unless the machine already has its own policy.
created_policy=no
cleanup() {
  if [[ "$created_policy" == yes ]]; then
    ${SUDO[@]+"${SUDO[@]}"} rm -f "$POLICY"
  fi
}
trap cleanup EXIT
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\nexit 101\n' | ${SUDO[@]+"${SUDO[@]}"} tee "$POLICY" >/dev/null
  ${SUDO[@]+"${SUDO[@]}"} chmod 755 "$POLICY"
  created_policy=yes
fi

echo "ensure-dovecot: installing dovecot-imapd..." >&2
${SUDO[@]+"${SUDO[@]}"} apt-get update -qq
${SUDO[@]+"${SUDO[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null

if [[ ! -x "$DOVECOT" ]]; then
  echo "ensure-dovecot: dovecot-imapd installed but $DOVECOT is still missing." >&2
  exit 1
fi
echo "ensure-dovecot: $("$DOVECOT" --version)" >&2
