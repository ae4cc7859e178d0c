#!/usr/bin/env bash
# The browser test drives Debian's Chromium at /usr/bin/chromium (it never
# downloads a browser). This installs it from Debian's packages when it is
# missing; it does nothing when it is there. Installing needs root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: /usr/bin/chromium is there"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Chromium is missing: run 'sudo apt-get update && sudo apt-get install -y chromium' (the browser test needs /usr/bin/chromium)." >&2
  exit 1
fi
echo "installing Debian's chromium for the browser test"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
