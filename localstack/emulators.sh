#!/usr/bin/env bash
# `emulators.sh up|down`: moto (5000: DynamoDB, Cognito IDP), LocalStack from
# its host venv (4566: S3) and the mock Cognito pool (9229) for offline
# development, in the background; `up` prints the environment to point
# flipframe at them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${FLIPFRAME_CACHE:-$HOME/.cache/flipframe}/emulators
pool=us-east-1_flipframedev
mkdir -p "$state"

start() { # name, command...
    local name=$1; shift
    if [ -f "$state/$name.pid" ] && kill -0 "$(cat "$state/$name.pid")" 2>/dev/null; then
        echo "$name already running"
        return
    fi
    setsid "$@" >"$state/$name.log" 2>&1 &
    echo $! >"$state/$name.pid"
}

wait_port() {
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "nothing answers on port $1; see $state/*.log" >&2
    return 1
}

case "${1:-}" in
up)
    cargo build --quiet --example mock_cognito
    start moto moto_server -H 127.0.0.1 -p 5000
    start localstack "$here/run-host.sh" 4566
    MOCK_COGNITO_LISTEN=127.0.0.1:9229 MOCK_COGNITO_POOL_ID=$pool start mock-cognito cargo run --quiet --example mock_cognito
    wait_port 5000 && wait_port 4566 && wait_port 9229
    cat <<ENV
# emulators are up; point flipframe at them with:
export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ENDPOINT_URL_S3=http://127.0.0.1:4566 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export FLIPFRAME_STORAGE=s3://flipframe-dev/dev FLIPFRAME_LEDGER=dynamodb://flipframe-dev
export FLIPFRAME_COGNITO_ISSUER=https://cognito-idp.us-east-1.amazonaws.com/$pool FLIPFRAME_COGNITO_CLIENT_IDS=flipframe-dev
export FLIPFRAME_JWKS_URL=http://127.0.0.1:9229/$pool/.well-known/jwks.json
# then: flipframe setup && flipframe serve
# a token: curl -s -X POST http://127.0.0.1:9229/$pool/mock/tokens -H 'content-type: application/json' \\
#   -d '{"sub":"dev","iss":"https://cognito-idp.us-east-1.amazonaws.com/$pool","client_id":"flipframe-dev","token_use":"access","username":"alice","exp":4102444800}'
ENV
    ;;
down)
    for name in mock-cognito localstack moto; do
        if [ -f "$state/$name.pid" ]; then
            kill -- -"$(cat "$state/$name.pid")" 2>/dev/null || true
            rm -f "$state/$name.pid"
            echo "$name stopped"
        fi
    done
    ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
