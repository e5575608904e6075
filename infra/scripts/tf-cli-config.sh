#!/usr/bin/env bash
# Writes a Terraform CLI config that installs providers from the local
# filesystem mirror, found at run time (the folder above registry.terraform.io
# that holds terraform-provider-aws_*), and prints its path. Without a mirror
# it prints nothing: Terraform then uses the public registry.
set -euo pipefail
out=${1:?usage: tf-cli-config.sh OUTPUT}
binary=$(find /opt /usr/local /usr/share /root/.terraform.d /var/lib "$HOME" -path '*/registry.terraform.io/hashicorp/aws/*' \
    -name 'terraform-provider-aws_*' -print -quit 2>/dev/null || true)
if [ -z "$binary" ]; then
    exit 0
fi
mirror=${binary%%/registry.terraform.io/*}
mkdir -p "$(dirname "$out")"
cat >"$out" <<CONFIG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
CONFIG
echo "$out"
