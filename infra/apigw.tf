# The HTTP API: one route per route of the service's router. User routes need
# a Cognito JWT at the gateway (the service checks it again); the transformed
# download also takes external tokens, so it reaches the function, which
# checks whichever credential it gets.

locals {
  user_routes = [
    "POST /v1/images",
    "GET /v1/images",
    "GET /v1/images/{id}",
    "GET /v1/images/{id}/original",
    "POST /v1/uploads",
  ]
  open_routes = [
    "GET /v1/images/{id}/transformed",
    "HEAD /v1/images/{id}/transformed",
    "GET /healthz",
    "GET /readyz",
    "GET /openapi.json",
  ]
  # The web console: its page, the sign-in callback and its assets. Open: a
  # browser loads them before anyone has signed in; they hold no data.
  console_routes = [
    "GET /",
    "GET /console/callback",
    "GET /console/console.js",
    "GET /console/console.css",
    "GET /console/icon.svg",
    "GET /console/config.json",
  ]
}

resource "aws_apigatewayv2_api" "http" {
  name          = "${local.name}-api"
  protocol_type = "HTTP"
  description   = "flipframe: uploads, the processing log and downloads"

  # Closed unless origins are listed; then the service's own CORS settings.
  dynamic "cors_configuration" {
    for_each = length(var.cors_origins) > 0 ? [1] : []
    content {
      allow_origins  = var.cors_origins
      allow_methods  = ["GET", "POST"]
      allow_headers  = ["authorization", "content-type", "if-none-match", "idempotency-key", "x-api-key"]
      expose_headers = ["location", "etag", "retry-after", "content-disposition", "idempotent-replayed", "x-request-id"]
      max_age        = 600
    }
  }
}

resource "aws_apigatewayv2_authorizer" "cognito" {
  api_id           = aws_apigatewayv2_api.http.id
  name             = "cognito"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = local.issuer
    audience = [aws_cognito_user_pool_client.web.id]
  }
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.api.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "user" {
  for_each           = toset(local.user_routes)
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.cognito.id
}

resource "aws_apigatewayv2_route" "open" {
  #checkov:skip=CKV_AWS_309:Open on purpose: the transformed download takes external tokens that no gateway authorizer knows, so the function verifies every credential itself; /healthz, /readyz and /openapi.json are public
  for_each           = toset(local.open_routes)
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "NONE"
}

resource "aws_apigatewayv2_route" "console" {
  #checkov:skip=CKV_AWS_309:The console's page and assets are public by nature: the browser needs them to show the sign-in button
  for_each           = toset(local.console_routes)
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "NONE"
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_158:Logs hold no secrets (tokens are never logged); CloudWatch encrypts them at rest with AWS-managed keys
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default) to keep costs down; raise it where audits need a year
  name              = "/aws/apigateway/${local.name}-api"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      routeKey       = "$context.routeKey"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      latencyMs      = "$context.responseLatency"
      authorizer     = "$context.authorizer.error"
    })
  }
}
