#!/usr/bin/env bash
# The agent's xxh128 is C compiled to WebAssembly (apps/agent/wasm/), and the output is committed,
# so building the agent needs no C compiler; a test checks that the committed module is what the
# sources build, which needs clang (with its wasm32 target) and wasm-ld. This installs Debian's
# clang and lld when they are missing; it does nothing when they are there. Installing needs root.
set -euo pipefail
missing=()
command -v clang >/dev/null || missing+=(clang)
command -v wasm-ld >/dev/null || missing+=(lld)
if [ ${#missing[@]} -eq 0 ]; then
  echo "wasm: clang and wasm-ld are there ($(clang --version | head -1))"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing: ${missing[*]}: run 'sudo apt-get update && sudo apt-get install -y ${missing[*]}' (apps/agent/wasm/build.mjs needs them)." >&2
  exit 1
fi
echo "installing Debian's ${missing[*]} for apps/agent/wasm/build.mjs"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
clang --version | head -1
