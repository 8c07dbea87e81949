#!/usr/bin/env bash
# Makes sure Debian's Chromium (plus a font, so pages render text) is available for the browser
# tests (test/support/browser.ts drives it through playwright-core's executablePath; Playwright's
# own browser download is not used). Idempotent and silent when everything is already installed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
FONT_DIR=/usr/share/fonts

packages=()
if [[ ! -x "$CHROMIUM" ]]; then
  packages+=(chromium)
fi
# Without any font Chromium still runs, but text renders as nothing (and screenshots are blank).
if [[ -z "$(find "$FONT_DIR" -type f \( -name '*.ttf' -o -name '*.otf' \) -print -quit 2>/dev/null)" ]]; then
  packages+=(fonts-dejavu-core)
fi

if [[ ${#packages[@]} -eq 0 ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: missing ${packages[*]} and apt-get is not available;" \
    "install Chromium (Debian/Ubuntu package chromium) by hand, or set CHROMIUM_PATH." >&2
  exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "ensure-chromium: need root (or sudo) to install ${packages[*]}." >&2
    exit 1
  fi
fi

# Unlike dovecot-imapd, none of these packages (nor their --no-install-recommends dependencies)
# ships a system service, so no policy-rc.d guard is needed.
echo "ensure-chromium: installing ${packages[*]}..." >&2
${SUDO[@]+"${SUDO[@]}"} apt-get update -qq
${SUDO[@]+"${SUDO[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

if [[ ! -x "$CHROMIUM" ]]; then
  echo "ensure-chromium: chromium installed but $CHROMIUM is still missing." >&2
  exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null)" >&2
