#!/usr/bin/env bash
# The web page test drives Debian's headless Chromium through chromedriver. When they are
# missing and we run as root on Debian, install them; otherwise say so (the test then skips).
set -euo pipefail
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium and chromium-driver for the web page test (Debian packages)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
else
  echo "note: /usr/bin/chromium or /usr/bin/chromedriver missing and not root: the web page test will skip" >&2
fi
