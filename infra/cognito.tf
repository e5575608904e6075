# Users sign in here; the service and the API's JWT authorizer trust its tokens.

resource "aws_cognito_user_pool" "users" {
  name                     = "${local.name}-users"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = "INACTIVE"

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }
}

resource "aws_cognito_user_pool_client" "web" {
  name            = "${local.name}-web"
  user_pool_id    = aws_cognito_user_pool.users.id
  generate_secret = false

  explicit_auth_flows = [
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
  ]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  # The console signs in through the Hosted UI: authorization code with PKCE
  # (a public client, no secret), back to its callback on the API's address.
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = concat(["${aws_apigatewayv2_api.http.api_endpoint}/console/callback"], var.extra_callback_urls)
  logout_urls                          = concat(["${aws_apigatewayv2_api.http.api_endpoint}/"], var.extra_logout_urls)
  access_token_validity                = 60
  id_token_validity                    = 60
  refresh_token_validity               = 30
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

# The Hosted UI's address: https://PREFIX.auth.REGION.amazoncognito.com.
resource "aws_cognito_user_pool_domain" "sign_in" {
  # Unique per region: the account id keeps two deployments apart.
  domain       = coalesce(var.cognito_domain_prefix, "${local.name}-${data.aws_caller_identity.current.account_id}")
  user_pool_id = aws_cognito_user_pool.users.id
}

data "aws_caller_identity" "current" {}

locals {
  hosted_ui = "https://${aws_cognito_user_pool_domain.sign_in.domain}.auth.${data.aws_region.current.name}.amazoncognito.com"
  issuer    = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.users.id}"
}
