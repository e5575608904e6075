variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "flipframe"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "lambda_zip" {
  description = "Path of the bootstrap.zip that `just lambda-zip` builds (Terraform never compiles code)."
  type        = string
  default     = "../target/lambda/flipframe/bootstrap.zip"
}

variable "lambda_architecture" {
  description = "CPU architecture the zip was built for: x86_64 (`just lambda-zip`) or arm64 (`just lambda-zip arm64`)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "api_memory_mb" {
  description = "Memory of the API function; uploads are validated (fully decoded) there."
  type        = number
  default     = 1024

  validation {
    condition     = var.api_memory_mb >= 512 && var.api_memory_mb <= 10240
    error_message = "api_memory_mb must be between 512 and 10240."
  }
}

variable "processor_memory_mb" {
  description = "Memory of the processor function. A 50 MP image decodes to 150-200 MB; CPU grows with memory (one vCPU at 1769 MB)."
  type        = number
  default     = 2048

  validation {
    condition     = var.processor_memory_mb >= 1024 && var.processor_memory_mb <= 10240
    error_message = "processor_memory_mb must be between 1024 and 10240."
  }
}

variable "processor_timeout_seconds" {
  description = "Timeout of one processor invocation."
  type        = number
  default     = 60

  validation {
    condition     = var.processor_timeout_seconds >= 10 && var.processor_timeout_seconds <= 900
    error_message = "processor_timeout_seconds must be between 10 and 900."
  }
}

variable "sweep_schedule" {
  description = "How often the processor sweeps unfinished uploads (an EventBridge schedule expression). Presigned uploads get 20 minutes to arrive."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.sweep_schedule))
    error_message = "sweep_schedule must be rate(...) or cron(...)."
  }
}

variable "processor_reserved_concurrency" {
  description = "Concurrent processor invocations reserved (and capped); -1 leaves it unreserved."
  type        = number
  default     = 10

  validation {
    condition     = var.processor_reserved_concurrency >= -1
    error_message = "processor_reserved_concurrency must be -1 or more."
  }
}

variable "log_retention_days" {
  description = "How long CloudWatch keeps function and access logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "enable_xray" {
  description = "Active X-Ray tracing on both functions."
  type        = bool
  default     = false
}

variable "external_token_hashes" {
  description = "External-system tokens as name:sha256hex,... (hashes only: `flipframe token new`). Stored as an SSM SecureString."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.external_token_hashes == "" || can(regex("^([A-Za-z0-9._-]+:[0-9a-fA-F]{64})(,[A-Za-z0-9._-]+:[0-9a-fA-F]{64})*$", var.external_token_hashes))
    error_message = "external_token_hashes must be name:sha256hex pairs separated by commas (hashes, never tokens)."
  }
}

variable "throttle_rate_limit" {
  description = "Steady-state requests per second the API stage allows."
  type        = number
  default     = 50
}

variable "throttle_burst_limit" {
  description = "Burst of requests the API stage allows."
  type        = number
  default     = 100
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept before it expires."
  type        = number
  default     = 30
}

variable "force_destroy_bucket" {
  description = "Let `terraform destroy` delete the bucket with the images in it (for trials and tests)."
  type        = bool
  default     = false
}

variable "cognito_domain_prefix" {
  description = "Prefix of the Hosted UI address (PREFIX.auth.REGION.amazoncognito.com); default NAME-ACCOUNT_ID."
  type        = string
  default     = null

  validation {
    condition     = var.cognito_domain_prefix == null || can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.cognito_domain_prefix))
    error_message = "cognito_domain_prefix must be lower-case letters, digits and dashes, not starting or ending with a dash."
  }
}

variable "extra_callback_urls" {
  description = "Sign-in callbacks besides the console's own, e.g. a custom domain's https://images.example.com/console/callback."
  type        = list(string)
  default     = []
}

variable "extra_logout_urls" {
  description = "Addresses the Hosted UI may return to after sign-out besides the console's own."
  type        = list(string)
  default     = []
}

variable "extra_console_origins" {
  description = "Origins besides the API's own where the console is served (a custom domain), allowed by the bucket's CORS rule."
  type        = list(string)
  default     = []
}

variable "cors_origins" {
  description = "Browser origins (https://app.example.com) other than the API's own whose pages may call the API. Empty: cross-origin calls are closed. The same list configures API Gateway's CORS and the service's (FLIPFRAME_CORS_ORIGINS)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for origin in var.cors_origins : can(regex("^https?://[^/*]+$", origin))])
    error_message = "Each CORS origin is scheme://host[:port], with no path and no wildcard."
  }
}

variable "webhooks" {
  description = "Completion webhooks as NAME=whsec_SECRET@https://URL,... (NAME an external token's). Stored as an SSM SecureString."
  type        = string
  default     = ""
  sensitive   = true
}
