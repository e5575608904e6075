#!/usr/bin/env bash
# `just api-contract`: schemathesis (--checks all, the stateful phase
# included) against a running standalone server's own /openapi.json, with a
# signed-in user's token and with an external system's token; on embedded
# defaults, and on S3 + DynamoDB in moto when MOTO=1 (moto_server on PATH).
# Usage: schemathesis.sh BINARY [MAX_EXAMPLES]. Prints one line per run and
# fails on any failure.
set -euo pipefail
# schemathesis reads schemathesis.toml from the working folder.
cd "$(dirname "$0")/.."
binary=$1
examples=${2:-30}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 150); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }

# An external token: the service keeps only its hash.
external=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
hash=$(printf %s "$external" | sha256sum | cut -d' ' -f1)

runs=(embedded)
[ "${MOTO:-0}" = 1 ] && runs+=(moto)
status=0
for run in "${runs[@]}"; do
    port=$(free_port)
    env=(FLIPFRAME_DATA_DIR="$work/$run" FLIPFRAME_LISTEN="127.0.0.1:$port" RUST_LOG=warn
         FLIPFRAME_EXTERNAL_TOKENS="partner:$hash")
    if [ "$run" = moto ]; then
        moto_port=$(free_port)
        moto_server -p "$moto_port" >"$work/moto.log" 2>&1 &
        pids+=($!)
        wait_for "http://127.0.0.1:$moto_port/moto-api/"
        export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
        export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
        env+=(FLIPFRAME_STORAGE="s3://contract/flipframe" FLIPFRAME_LEDGER="dynamodb://contract")
        env "${env[@]}" "$binary" setup >/dev/null
    fi
    env "${env[@]}" "$binary" serve >"$work/$run.log" 2>&1 &
    pids+=($!)
    wait_for "http://127.0.0.1:$port/healthz"
    user=$("$binary" token dev --user contract-user --data-dir "$work/$run")
    for who in user external; do
        token=$([ "$who" = user ] && echo "$user" || echo "$external")
        if schemathesis run "http://127.0.0.1:$port/openapi.json" --checks all \
            --header "Authorization: Bearer $token" --max-examples "$examples" \
            --seed 1 --no-color --suppress-health-check all \
            >"$work/$run-$who.txt" 2>&1; then
            result=passed
        else
            result=FAILED
            status=1
            cat "$work/$run-$who.txt"
        fi
        summary=$(grep -A1 '^Test cases:' "$work/$run-$who.txt" | tail -1 | sed 's/^ *//' || true)
        echo "api-contract: $run as $who: $result $summary"
    done
done
exit "$status"
