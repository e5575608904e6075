# Least privilege: each function gets only the prefixes, table, parameter and
# queue it uses.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "api" {
  name               = "${local.name}-api"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role" "processor" {
  name               = "${local.name}-processor"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "api" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.api.arn}:*"]
  }
  statement {
    sid       = "Originals"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.originals_arn]
  }
  statement {
    sid       = "Transformed"
    actions   = ["s3:GetObject"]
    resources = [local.transformed_arn]
  }
  statement {
    sid       = "Log"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.log.arn, "${aws_dynamodb_table.log.arn}/index/*"]
  }
  statement {
    sid       = "TokenHashes"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.external_tokens.arn, aws_ssm_parameter.webhooks.arn]
  }
  statement {
    sid       = "DecryptTokenHashes"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
  dynamic "statement" {
    for_each = var.enable_xray ? [1] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

data "aws_iam_policy_document" "processor" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.processor.arn}:*"]
  }
  statement {
    sid       = "Originals"
    actions   = ["s3:GetObject", "s3:DeleteObject"]
    resources = [local.originals_arn]
  }
  statement {
    sid       = "Transformed"
    actions   = ["s3:PutObject"]
    resources = [local.transformed_arn]
  }
  statement {
    sid       = "Log"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.log.arn]
  }
  statement {
    # The scheduled sweep lists unfinished entries by status.
    sid       = "UnfinishedEntries"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.log.arn}/index/*"]
  }
  statement {
    sid       = "FailedEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.processor_failures.arn]
  }
  statement {
    # Webhooks, and the token names they belong to (hashes only).
    sid       = "Webhooks"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.external_tokens.arn, aws_ssm_parameter.webhooks.arn]
  }
  statement {
    sid       = "DecryptWebhooks"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
  dynamic "statement" {
    for_each = var.enable_xray ? [1] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "api" {
  name   = "${local.name}-api"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api.json
}

resource "aws_iam_role_policy" "processor" {
  name   = "${local.name}-processor"
  role   = aws_iam_role.processor.id
  policy = data.aws_iam_policy_document.processor.json
}
