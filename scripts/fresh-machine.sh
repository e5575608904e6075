#!/usr/bin/env bash
# First contact on a fresh machine: cmake, nasm and just hidden behind
# /dev/null in a private mount namespace (root and `unshare -m` needed), an
# empty tools folder, and for `full` an empty target dir and a fresh clone.
#   fresh-machine.sh tools   fetch what the first build and `cargo xtask` need (seconds)
#   fresh-machine.sh full    the README's first command until /healthz answers (a cold build)
set -euo pipefail
mode=${1:-tools}
cd "$(dirname "$0")/.."

if [ -z "${FLIPFRAME_TOOLS_HIDDEN:-}" ]; then
    if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
        echo "fresh-machine: hiding tools needs root and unshare -m; not here, so not run" >&2
        exit 0
    fi
    exec unshare -m env FLIPFRAME_TOOLS_HIDDEN=1 "$0" "$mode"
fi

for tool in cmake nasm just; do
    for path in $(type -ap "$tool"); do
        for file in "$path" "$(readlink -f "$path")"; do
            mountpoint -q "$file" || mount --bind /dev/null "$file"
        done
    done
done
# The hidden tools stay hidden once fetching has begun: the proof is in the figure.
for tool in cmake nasm just; do
    ! "$tool" --version >/dev/null 2>&1 || { echo "fresh-machine: $tool is still visible" >&2; exit 1; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export FLIPFRAME_TOOLS=$scratch/tools
started=$SECONDS

if [ "$mode" = tools ]; then
    scripts/tools/cmake --version | head -1
    bin=$(scripts/bootstrap.sh)
    "$bin/nasm" -v
    "$bin/just" --version
    echo "fresh-machine: cmake, nasm and just fetched without them in $((SECONDS - started)) s"
    exit 0
fi

git clone -q . "$scratch/clone"
cd "$scratch/clone"
export CARGO_TARGET_DIR=$scratch/target
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
FLIPFRAME_LISTEN=127.0.0.1:$port FLIPFRAME_DATA_DIR=$scratch/data \
    cargo run --release >"$scratch/run.log" 2>&1 &
runner=$!
until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null; do
    if ! kill -0 "$runner" 2>/dev/null; then
        tail -40 "$scratch/run.log"
        echo "fresh-machine: cargo run --release ended before /healthz answered" >&2
        exit 1
    fi
    sleep 2
done
echo "fresh-machine: /healthz answered $((SECONDS - started)) s after \`cargo run --release\` began"
"$CARGO_TARGET_DIR/release/flipframe" --version
# cargo does not pass its SIGTERM on to the program it runs.
pkill -TERM -f "^$CARGO_TARGET_DIR/release/flipframe" || true
wait "$runner" 2>/dev/null || true
