#!/usr/bin/env bash
# Debian packages for the deploy and observability checks (needs root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
