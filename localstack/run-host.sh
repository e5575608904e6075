#!/usr/bin/env bash
# Runs LocalStack (S3 and SQS) on the host, offline, on 127.0.0.1:PORT
# (default 4566), with signature validation on. Ctrl-C stops it.
set -euo pipefail
port=${1:-4566}
python=$("$(dirname "$0")/install-host.sh")
root=${TMPDIR:-/tmp}/flipframe-localstack-$port
mkdir -p "$root"
export GATEWAY_SERVER=hypercorn GATEWAY_LISTEN=127.0.0.1:$port LOCALSTACK_HOST=127.0.0.1:$port \
    OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT=$root SERVICES=s3,sqs PERSISTENCE=0 DISABLE_EVENTS=1 \
    SKIP_SSL_CERT_DOWNLOAD=1 DNS_ADDRESS=0 SQS_ENDPOINT_STRATEGY=path S3_SKIP_SIGNATURE_VALIDATION=0
exec "$python" -m localstack.runtime.main
