#!/usr/bin/env bash
# Static checks of infra/: terraform fmt, terraform validate (offline through
# the local provider mirror when there is one), and checkov (every failed check
# fixed or skipped inline with a reason). A missing tool fails the check.
set -euo pipefail
# A CLI config that does not exist only makes Terraform warn.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
here=$(cd "$(dirname "$0")" && pwd)
infra=$(dirname "$here")
repo=$(dirname "$infra")
work=${CARGO_TARGET_DIR:-$repo/target}/infra-validate

command -v terraform >/dev/null || { echo "infra-lint: terraform is not installed" >&2; exit 1; }
terraform fmt -check -recursive -diff "$infra"
echo "infra-lint: terraform fmt ok"

rm -rf "$work" && mkdir -p "$work"
cp "$infra"/*.tf "$work/"
cli_config=$("$here/tf-cli-config.sh" "$work/cli.tfrc")
[ -n "$cli_config" ] && export TF_CLI_CONFIG_FILE=$cli_config
(cd "$work" && terraform init -backend=false -input=false -no-color >/dev/null && terraform validate -no-color)

command -v checkov >/dev/null || python3 -m pip install --quiet checkov
checkov -d "$infra" --framework terraform --skip-download --quiet --compact
echo "infra-lint: checkov ok"
