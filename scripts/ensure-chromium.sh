#!/usr/bin/env bash
# Makes sure Debian's Chromium (plus a font, so pages render text) is available for the browser
# tests (test/support/browser.ts drives it through playwright-core's executablePath; Playwright's
# own browser download is not used). Idempotent and silent when everything is already installed.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"

CHROMIUM=/usr/bin/chromium
FONT_DIR=/usr/share/fonts

packages=()
[[ -x "$CHROMIUM" ]] || packages+=(chromium)
# Without any font Chromium still runs, but text renders as nothing (and screenshots are blank).
if [[ -z "$(find "$FONT_DIR" -type f \( -name '*.ttf' -o -name '*.otf' \) -print -quit 2>/dev/null)" ]]; then
  packages+=(fonts-dejavu-core)
fi
[[ ${#packages[@]} -eq 0 ]] && exit 0

apt_install ensure-chromium "${packages[@]}"
if [[ ! -x "$CHROMIUM" ]]; then
  echo "ensure-chromium: chromium installed but $CHROMIUM is still missing." >&2
  exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null)" >&2
