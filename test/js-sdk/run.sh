#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Runs check.mjs (the official Wix JS SDK) against the standalone emulator.
# Usage: run.sh <path to wix-inbox-emulator>
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../scripts/common.sh"
[ -d "$here/node_modules/@wix/auto_sdk_inbox_messages" ] ||
    npm install --prefix "$here" --no-package-lock --no-audit --no-fund --silent >/dev/null
work="$(mktemp -d)"
# check.mjs receives the webhooks on this port; the emulator connects at each delivery only.
webhook_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
start_emulator "$1" "$work" --webhook-url "http://127.0.0.1:$webhook_port/webhooks"
trap 'kill $emulator_pid 2>/dev/null || true; rm -rf "$work"' EXIT
webhook_key=$(sed -n 's/.*"webhook_public_key_file":"\([^"]*\)".*/\1/p' "$work/emulator.json")
NODE_EXTRA_CA_CERTS="$emulator_ca" node "$here/check.mjs" "$emulator_url" "$webhook_port" "$webhook_key"
