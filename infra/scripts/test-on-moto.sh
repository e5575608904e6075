#!/usr/bin/env bash
# Applies infra/ to moto and proves it: apply, a second plan with no changes,
# then a smoke test through the service itself (flipframe serve on the created
# bucket, table, SSM parameter and user pool: sign in, upload, download), and
# destroy. The real configuration stays clean: the emulator provider settings
# live in an override file written into a scratch copy.
set -euo pipefail
# A CLI config that does not exist only makes Terraform warn.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
here=$(cd "$(dirname "$0")" && pwd)
infra=$(dirname "$here")
repo=$(dirname "$infra")
work=${CARGO_TARGET_DIR:-$repo/target}/infra-test
started=$(date +%s)

command -v terraform >/dev/null || { echo "infra-test: terraform is not installed" >&2; exit 1; }
command -v moto_server >/dev/null || { echo "infra-test: moto_server is not installed" >&2; exit 1; }

rm -rf "$work" && mkdir -p "$work"
cp "$infra"/*.tf "$work/"
cli_config=$("$here/tf-cli-config.sh" "$work/cli.tfrc")
[ -n "$cli_config" ] && export TF_CLI_CONFIG_FILE=$cli_config

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
serve_pid=
cleanup() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
    kill "$moto_pid" 2>/dev/null || true
}
trap cleanup EXIT
endpoint=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -fs "$endpoint/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done

services="s3 dynamodb cognitoidp lambda iam sts apigatewayv2 ssm sqs logs events"
{
    echo 'provider "aws" {'
    echo '  region                      = "us-east-1"'
    echo '  access_key                  = "test"'
    echo '  secret_key                  = "test"'
    echo '  skip_credentials_validation = true'
    echo '  skip_metadata_api_check     = true'
    echo '  skip_requesting_account_id  = true'
    echo '  skip_region_validation      = true'
    echo '  s3_use_path_style           = true'
    echo '  endpoints {'
    for service in $services; do echo "    $service = \"$endpoint\""; done
    echo '  }'
    echo '}'
} >"$work/emulator_override.tf"

# moto runs no code: a placeholder zip stands in unless `just lambda-zip` ran.
zip=$repo/target/lambda/flipframe/bootstrap.zip
if [ ! -f "$zip" ]; then
    zip=$work/placeholder.zip
    python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z: z.writestr("bootstrap", "#!/bin/sh\nexit 1\n")' "$zip"
fi

partner_token=$(python3 -c 'import secrets; print("ff_" + secrets.token_urlsafe(32))')
partner_hash=$(printf %s "$partner_token" | sha256sum | cut -d' ' -f1)
vars=(-var "region=us-east-1" -var "lambda_zip=$zip" -var "force_destroy_bucket=true" -var "external_token_hashes=partner-a:$partner_hash")

cd "$work"
terraform init -input=false -no-color >/dev/null
terraform apply -input=false -no-color -auto-approve "${vars[@]}" >apply.log || { tail -40 apply.log; exit 1; }
echo "infra-test: applied $(grep -c 'Creation complete' apply.log) resources"
set +e
terraform plan -input=false -no-color -detailed-exitcode "${vars[@]}" >plan.log
plan=$?
set -e
if [ "$plan" -ne 0 ]; then
    echo "infra-test: a second plan is not empty (exit $plan):" >&2
    grep -E '^\s+[~+-]|will be|must be' plan.log | head -40 >&2
    exit 1
fi
echo "infra-test: a second plan shows no changes"
terraform output -json >outputs.json

# Smoke: the service itself on what Terraform created.
binary=${FLIPFRAME_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/flipframe}
[ -x "$binary" ] || (cd "$repo" && cargo build --quiet --bin flipframe)
serve_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out() { python3 -c 'import json,sys; print(json.load(open("outputs.json"))[sys.argv[1]]["value"])' "$1"; }
pool=$(out user_pool_id)
env AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
    FLIPFRAME_LISTEN="127.0.0.1:$serve_port" \
    FLIPFRAME_STORAGE="s3://$(out bucket)/flipframe" FLIPFRAME_LEDGER="dynamodb://$(out table)" \
    FLIPFRAME_COGNITO_ISSUER="$(out issuer)" FLIPFRAME_COGNITO_CLIENT_IDS="$(out client_id)" \
    FLIPFRAME_JWKS_URL="$endpoint/$pool/.well-known/jwks.json" \
    FLIPFRAME_COGNITO_DOMAIN="$(out hosted_ui)" \
    FLIPFRAME_EXTERNAL_TOKENS_PARAMETER="$(out external_tokens_parameter)" \
    "$binary" serve >serve.log 2>&1 &
serve_pid=$!
python3 "$here/smoke.py" "$endpoint" "http://127.0.0.1:$serve_port" outputs.json "$partner_token" \
    || { tail -20 serve.log; exit 1; }

terraform destroy -input=false -no-color -auto-approve "${vars[@]}" >destroy.log || { tail -40 destroy.log; exit 1; }
echo "infra-test: destroyed; passed in $(( $(date +%s) - started )) s"
