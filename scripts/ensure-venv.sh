#!/usr/bin/env bash
# Create the virtualenv; on a fresh Debian machine the venv module may be missing, and
# when running as root it is installed from Debian's packages.
set -euo pipefail
python="$1"; venv="$2"
if [ -z "$python" ]; then
  echo "error: no python3.11 or python3 on PATH; install Python 3.11 first" >&2; exit 1
fi
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: $python is $("$python" --version 2>&1); opencorpus needs Python 3.11 or newer" >&2; exit 1; }
[ -x "$venv/bin/python" ] && exit 0
if ! "$python" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv "$venv"
  else
    echo "error: '$python -m venv' failed; install your distribution's python3-venv package" >&2; exit 1
  fi
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
