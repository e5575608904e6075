# Originals and transformed versions, private and encrypted.

resource "aws_s3_bucket" "images" {
  #checkov:skip=CKV_AWS_18:Requests are logged at API Gateway; S3 server access logs need a second bucket and are left to accounts that require them
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage costs; versioning and lifecycle cover accidental deletes
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) with bucket keys; SSE-KMS adds per-request KMS costs for no gain here
  bucket_prefix = "${local.name}-images-"
  force_destroy = var.force_destroy_bucket
}

resource "aws_s3_bucket_public_access_block" "images" {
  bucket                  = aws_s3_bucket.images.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "images" {
  bucket = aws_s3_bucket.images.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "images" {
  bucket = aws_s3_bucket.images.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "images" {
  bucket = aws_s3_bucket.images.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.images]
}

data "aws_iam_policy_document" "images_tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.images.arn,
      "${aws_s3_bucket.images.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "images" {
  bucket     = aws_s3_bucket.images.id
  policy     = data.aws_iam_policy_document.images_tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.images]
}

# New originals start the processor.
resource "aws_s3_bucket_notification" "originals" {
  bucket = aws_s3_bucket.images.id

  lambda_function {
    lambda_function_arn = aws_lambda_function.processor.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "${local.prefix}/originals/"
  }

  depends_on = [aws_lambda_permission.s3_invokes_processor]
}

# The console in a browser PUTs large images straight to their presigned URL
# and follows download redirects here: both need CORS for the API's origin.
resource "aws_s3_bucket_cors_configuration" "images" {
  bucket = aws_s3_bucket.images.id
  cors_rule {
    allowed_methods = ["PUT", "GET", "HEAD"]
    allowed_origins = concat([aws_apigatewayv2_api.http.api_endpoint], var.extra_console_origins, var.cors_origins)
    allowed_headers = ["content-type"]
    expose_headers  = ["etag"]
    max_age_seconds = 3600
  }
}
