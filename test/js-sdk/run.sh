#!/usr/bin/env bash
# Runs check.mjs (the official Wix JS SDK) against the standalone emulator.
# Usage: run.sh <path to wix-inbox-emulator>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
emulator_bin="$1"
[ -d "$here/node_modules/@wix/sdk" ] ||
    npm install --prefix "$here" --no-package-lock --no-audit --no-fund --silent >/dev/null
work="$(mktemp -d)"
"$emulator_bin" > "$work/emulator.json" &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/emulator.json" ] && break; sleep 0.1; done
url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$work/emulator.json")
ca=$(sed -n 's/.*"ca_file":"\([^"]*\)".*/\1/p' "$work/emulator.json")
NODE_EXTRA_CA_CERTS="$ca" node "$here/check.mjs" "$url"
