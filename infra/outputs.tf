output "api_url" {
  description = "Base URL of the HTTPS API."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "bucket" {
  description = "Bucket of originals and transformed versions."
  value       = aws_s3_bucket.images.bucket
}

output "table" {
  description = "DynamoDB table of the processing log."
  value       = aws_dynamodb_table.log.name
}

output "user_pool_id" {
  description = "Cognito user pool id."
  value       = aws_cognito_user_pool.users.id
}

output "client_id" {
  description = "Cognito app client id (no secret) for USER_PASSWORD_AUTH and SRP sign-in."
  value       = aws_cognito_user_pool_client.web.id
}

output "issuer" {
  description = "Issuer URL of the pool's tokens (FLIPFRAME_COGNITO_ISSUER)."
  value       = local.issuer
}

output "external_tokens_parameter" {
  description = "SSM SecureString with the external token hashes."
  value       = aws_ssm_parameter.external_tokens.name
}

output "api_function" {
  description = "Name of the API Lambda function."
  value       = aws_lambda_function.api.function_name
}

output "processor_function" {
  description = "Name of the processor Lambda function."
  value       = aws_lambda_function.processor.function_name
}

output "processor_failures_queue" {
  description = "SQS queue receiving S3 events the processor failed on after retries."
  value       = aws_sqs_queue.processor_failures.url
}

output "console_url" {
  description = "The web console: open it in a browser and sign in."
  value       = "${aws_apigatewayv2_api.http.api_endpoint}/"
}

output "hosted_ui" {
  description = "The Cognito Hosted UI the console signs in through."
  value       = local.hosted_ui
}
