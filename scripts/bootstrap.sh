#!/usr/bin/env bash
# What `just test` needs before its first recipe runs, on a machine with only
# Rust and Python: rustfmt and clippy, just, moto, and cmake + nasm for the
# default build (tools.sh fetches those without root when it can). Run by
# `cargo xtask` and `.ci/run`; each step does nothing when its tool is there.
# The recipes install the rest themselves (Chromium, LocalStack's venv).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

fail() { echo "bootstrap: $*" >&2; exit 1; }

rustup component list --installed 2>/dev/null | grep -q '^clippy' ||
    rustup component add clippy rustfmt >&2 || fail "could not add clippy and rustfmt (rustup component add clippy rustfmt)"
for tool in just cmake nasm; do
    tool_path "$tool" >/dev/null || fail "$tool is missing and could not be fetched into $tools_home; install it and run again"
done
# The AWS tests start moto_server themselves.
command -v moto_server >/dev/null 2>&1 ||
    python3 -m pip install --quiet --root-user-action=ignore 'moto[server]' >&2 ||
    fail "could not install moto (python3 -m pip install 'moto[server]')"
command -v npm >/dev/null 2>&1 || {
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq npm >/dev/null
} || fail "npm is missing (the console's accessibility check loads axe-core with it)"
echo "$tools_bin"
