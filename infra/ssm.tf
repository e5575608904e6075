# External-system token hashes and completion webhooks; the functions read
# them at start.

resource "aws_ssm_parameter" "external_tokens" {
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS-managed aws/ssm key; the value is SHA-256 hashes, never tokens
  name        = "/${local.name}/external-token-hashes"
  description = "flipframe external tokens as name:sha256hex,... (hashes only)"
  type        = "SecureString"
  # SSM refuses empty values; a lone comma parses as no tokens.
  value = var.external_token_hashes == "" ? "," : var.external_token_hashes
}

resource "aws_ssm_parameter" "webhooks" {
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS-managed aws/ssm key
  name        = "/${local.name}/webhooks"
  description = "flipframe completion webhooks as NAME=whsec_SECRET@URL,... (NAME an external token's)"
  type        = "SecureString"
  value       = var.webhooks == "" ? "," : var.webhooks
}
