# Two functions from the one zip that `just lambda-zip` builds: the HTTP API and
# the S3-event processor (FLIPFRAME_LAMBDA_ROLE tells the binary which it is).

# Lambda writes to /aws/lambda/<function> by default; creating the groups
# first sets their retention. The binary logs JSON lines itself.
resource "aws_cloudwatch_log_group" "api" {
  #checkov:skip=CKV_AWS_158:Logs hold no secrets (tokens are never logged); CloudWatch encrypts them at rest with AWS-managed keys
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default) to keep costs down; raise it where audits need a year
  name              = "/aws/lambda/${local.name}-api"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "processor" {
  #checkov:skip=CKV_AWS_158:Logs hold no secrets (tokens are never logged); CloudWatch encrypts them at rest with AWS-managed keys
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default) to keep costs down; raise it where audits need a year
  name              = "/aws/lambda/${local.name}-processor"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_117:The functions reach only public AWS endpoints; a VPC would add NAT costs and cold-start latency for nothing
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile outside this root; the zip's hash is pinned by source_code_hash
  #checkov:skip=CKV_AWS_173:The environment holds names and URLs only; the one secret (token hashes) lives in SSM
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway: a dead-letter queue never receives anything
  #checkov:skip=CKV_AWS_115:Scales with requests; the stage throttles traffic and the processor's concurrency is the reserved one
  depends_on = [aws_cloudwatch_log_group.api]

  function_name    = "${local.name}-api"
  role             = aws_iam_role.api.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip)
  memory_size      = var.api_memory_mb
  # API Gateway gives up after 30 s.
  timeout = 29

  environment {
    variables = merge(local.lambda_environment, { FLIPFRAME_LAMBDA_ROLE = "api" })
  }

  tracing_config {
    mode = var.enable_xray ? "Active" : "PassThrough"
  }
}

resource "aws_lambda_function" "processor" {
  #checkov:skip=CKV_AWS_117:The functions reach only public AWS endpoints; a VPC would add NAT costs and cold-start latency for nothing
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile outside this root; the zip's hash is pinned by source_code_hash
  #checkov:skip=CKV_AWS_173:The environment holds names and URLs only; the one secret (token hashes) lives in SSM
  #checkov:skip=CKV_AWS_116:Failed events go to the on-failure destination (aws_lambda_function_event_invoke_config), the modern form of a DLQ
  depends_on = [aws_cloudwatch_log_group.processor]

  function_name                  = "${local.name}-processor"
  role                           = aws_iam_role.processor.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.lambda_architecture]
  filename                       = var.lambda_zip
  source_code_hash               = filebase64sha256(var.lambda_zip)
  memory_size                    = var.processor_memory_mb
  timeout                        = var.processor_timeout_seconds
  reserved_concurrent_executions = var.processor_reserved_concurrency

  environment {
    # The processor reads the token names only to check the webhooks against them.
    variables = merge(local.lambda_environment, {
      FLIPFRAME_LAMBDA_ROLE = "processor"
    })
  }

  tracing_config {
    mode = var.enable_xray ? "Active" : "PassThrough"
  }
}

# Events that still fail after Lambda's two retries land here for inspection.
resource "aws_sqs_queue" "processor_failures" {
  name                      = "${local.name}-processor-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_lambda_function_event_invoke_config" "processor" {
  function_name                = aws_lambda_function.processor.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.processor_failures.arn
    }
  }
}

resource "aws_lambda_permission" "s3_invokes_processor" {
  statement_id  = "AllowS3Invoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.processor.function_name
  principal     = "s3.amazonaws.com"
  source_arn    = aws_s3_bucket.images.arn
}

resource "aws_lambda_permission" "api_gateway_invokes_api" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}

# The scheduled sweep: S3 events cover every original that arrives; this ends
# what none will (a presigned upload never sent, a direct upload whose
# original a failure lost) and takes back entries whose processor timed out
# mid-transform, after their lease.
resource "aws_cloudwatch_event_rule" "sweep" {
  name                = "${local.name}-sweep"
  description         = "Ends flipframe uploads left unfinished: never uploaded, lost or abandoned mid-processing."
  schedule_expression = var.sweep_schedule
}

resource "aws_cloudwatch_event_target" "sweep" {
  rule = aws_cloudwatch_event_rule.sweep.name
  arn  = aws_lambda_function.processor.arn
}

resource "aws_lambda_permission" "events_invoke_processor" {
  statement_id  = "AllowScheduledSweep"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.processor.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep.arn
}
