locals {
  name = var.name
  tags = {
    Application = "flipframe"
    ManagedBy   = "terraform"
  }

  # Where the service keeps objects inside the bucket (FLIPFRAME_STORAGE prefix).
  prefix          = "flipframe"
  originals_arn   = "${aws_s3_bucket.images.arn}/${local.prefix}/originals/*"
  transformed_arn = "${aws_s3_bucket.images.arn}/${local.prefix}/transformed/*"

  lambda_environment = {
    FLIPFRAME_STORAGE                   = "s3://${aws_s3_bucket.images.bucket}/${local.prefix}"
    FLIPFRAME_LEDGER                    = "dynamodb://${aws_dynamodb_table.log.name}"
    FLIPFRAME_COGNITO_ISSUER            = local.issuer
    FLIPFRAME_COGNITO_CLIENT_IDS        = aws_cognito_user_pool_client.web.id
    FLIPFRAME_COGNITO_DOMAIN            = local.hosted_ui
    FLIPFRAME_EXTERNAL_TOKENS_PARAMETER = aws_ssm_parameter.external_tokens.name
    FLIPFRAME_WEBHOOKS_PARAMETER        = aws_ssm_parameter.webhooks.name
    FLIPFRAME_LOG_FORMAT                = "json"
    FLIPFRAME_CORS_ORIGINS              = join(",", var.cors_origins)
  }
}

data "aws_region" "current" {}
data "aws_partition" "current" {}
