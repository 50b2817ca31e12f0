#!/usr/bin/env bash
# Debian packages for the deploy and observability checks, and the browser the web UI's tests
# drive (Debian's chromium, through Playwright; needs root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -q . || need+=(fonts-dejavu-core)  # text in the browser's pages and screenshots
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
