# The processing log, exactly as service/src/ledger/dynamo.rs expects it.

resource "aws_dynamodb_table" "log" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS-owned key; a customer-managed CMK adds cost and key administration this service does not need
  name         = "${local.name}-log"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }
  attribute {
    name = "log"
    type = "S"
  }
  attribute {
    name = "status"
    type = "S"
  }
  attribute {
    name = "uploader"
    type = "S"
  }

  global_secondary_index {
    name            = "by_time"
    hash_key        = "log"
    range_key       = "id"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "by_status"
    hash_key        = "status"
    range_key       = "id"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "by_uploader"
    hash_key        = "uploader"
    range_key       = "id"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = false
}
