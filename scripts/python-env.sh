#!/usr/bin/env bash
# Makes the project's Python environment, .venv: the official Python SDKs of
# the seed APIs that the tests drive (Together 3.x and, in .venv/together-2,
# 2.x; LangWatch; Dreadnode) and schemathesis for npm run fuzz, every version
# pinned in python/. Does nothing when .venv already matches those files.
# Needs Python 3.11, 3.12 or 3.13 with its venv module.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.requirements.sha256"
want="$(cat python/requirements.txt python/no-deps.txt python/together-2.txt scripts/python-env.sh | sha256sum | cut -d" " -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi

python=""
for candidate in python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null 2>&1 \
    && "$candidate" -c 'import sys, venv; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "No Python 3.11–3.13 with its venv module on PATH: the SDK tests and the fuzzer need one." >&2
  echo "Install it, e.g. on Debian or Ubuntu: apt-get install -y python3 python3-venv" >&2
  exit 1
fi

echo "making $VENV with $("$python" --version) and the pinned SDKs (python/) ..."
pip=(--quiet --disable-pip-version-check)
"$python" -m venv --clear "$VENV"
"$VENV/bin/pip" install "${pip[@]}" -r python/requirements.txt
"$VENV/bin/pip" install "${pip[@]}" --no-deps -r python/no-deps.txt
"$VENV/bin/pip" install "${pip[@]}" --no-deps --target "$VENV/together-2" -r python/together-2.txt
echo "$want" >"$STAMP"
echo "$VENV is ready"
