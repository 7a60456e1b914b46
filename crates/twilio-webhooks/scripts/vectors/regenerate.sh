#!/usr/bin/env bash
# Regenerates tests/vectors/official.json with Twilio's official validators at pinned versions:
# twilio-python from requirements.lock into a venv, twilio-node from package-lock.json, both
# under the repository's git-ignored .tools/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
tools="$root/.tools/webhook-vectors"
mkdir -p "$tools"
if [ ! -x "$tools/venv/bin/python" ]; then
  python3 -m venv "$tools/venv"
fi
"$tools/venv/bin/pip" install --quiet --require-virtualenv -r "$here/requirements.lock"
cp "$here/package.json" "$here/package-lock.json" "$tools/"
(cd "$tools" && npm ci --silent --no-audit --no-fund)
NODE_PATH="$tools/node_modules" "$tools/venv/bin/python" "$here/generate.py"
