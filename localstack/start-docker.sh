#!/usr/bin/env bash
# Makes a Docker engine answer: installs Debian's docker.io if dockerd is
# missing, then starts dockerd without iptables or a bridge (test containers
# use host networking on loopback). Prints dockerd's pid when it started one;
# exits non-zero when no engine answers after all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/docker-ready.sh" && exit 0
if ! command -v dockerd >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
log=${FLIPFRAME_CACHE:-$HOME/.cache/flipframe}/dockerd.log
mkdir -p "$(dirname "$log")"
setsid dockerd --iptables=false --bridge=none >"$log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 60); do
    if "$here/docker-ready.sh"; then
        echo "$pid"
        exit 0
    fi
    sleep 0.5
done
echo "dockerd did not answer; see $log" >&2
exit 1
