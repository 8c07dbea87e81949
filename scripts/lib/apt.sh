# Sourced by scripts/ensure-*.sh.
#
# apt_install WHO PACKAGE...: installs Debian packages quietly, with sudo when not root. Package
# scripts may not start system services meanwhile (a Debian package such as dovecot-imapd would
# otherwise start its daemon on the standard ports): policy-rc.d answers 101, "forbidden", unless
# the machine already has a policy of its own.
apt_install() {
  local who=$1
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: apt-get is not available; install $* by hand." >&2
    return 1
  fi
  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "$who: need root (or sudo) to install $*." >&2
      return 1
    fi
  fi
  local policy=/usr/sbin/policy-rc.d created=no status=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | ${sudo[@]+"${sudo[@]}"} tee "$policy" >/dev/null
    ${sudo[@]+"${sudo[@]}"} chmod 755 "$policy"
    created=yes
  fi
  echo "$who: installing $*..." >&2
  { ${sudo[@]+"${sudo[@]}"} apt-get update -qq &&
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } || status=$?
  if [[ "$created" == yes ]]; then
    ${sudo[@]+"${sudo[@]}"} rm -f "$policy"
  fi
  return "$status"
}
