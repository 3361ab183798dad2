#!/usr/bin/env bash
# Runs check.mjs (the official Wix JS SDK) against the standalone emulator.
# Usage: run.sh <path to wix-inbox-emulator>
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../scripts/common.sh"
[ -d "$here/node_modules/@wix/auto_sdk_inbox_messages" ] ||
    npm install --prefix "$here" --no-package-lock --no-audit --no-fund --silent >/dev/null
work="$(mktemp -d)"
start_emulator "$1" "$work"
trap 'kill $emulator_pid 2>/dev/null || true; rm -rf "$work"' EXIT
NODE_EXTRA_CA_CERTS="$emulator_ca" node "$here/check.mjs" "$emulator_url"
