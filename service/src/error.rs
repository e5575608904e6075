//! The API's one error type, rendered as RFC 9457 problem+json. Client errors
//! carry a stable `code`; internal errors are logged whole and reach the
//! client only as a generic 500.

use crate::auth::AuthError;
use crate::ledger::{Failure, LedgerError, Status};
use crate::pipeline::Rejection;
use crate::storage::StorageError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The extension members every flipframe problem carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemExtensions {
    /// Stable machine-readable code, e.g. `unsupported_format`.
    pub code: String,
    /// Why processing failed, on `processing_failed` problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The log entry that records a refused upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<uuid::Uuid>,
}

/// A problem's `type`: a stable URN per code (RFC 9457 §3.1.1 lets a type
/// be an identifier that is not dereferenced).
pub fn problem_type(code: &str) -> String {
    format!("urn:flipframe:problem:{code}")
}

/// The problem code of an error response, for the layers above the handler
/// (metrics count refusals by it).
#[derive(Debug, Clone)]
pub struct ProblemCode(pub String);

/// An `application/problem+json` response whose `type` names `code` and
/// whose extension members are `extensions`' fields.
pub fn problem_response(
    status: StatusCode,
    code: &str,
    detail: String,
    extensions: impl Serialize,
) -> Response {
    #[derive(Serialize)]
    struct Body<'a, E> {
        #[serde(rename = "type")]
        kind: String,
        title: &'a str,
        status: u16,
        detail: String,
        #[serde(flatten)]
        extensions: E,
    }
    let body = Body {
        kind: problem_type(code),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        extensions,
    };
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        axum::Extension(ProblemCode(code.to_owned())),
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

/// The body of every error response (`application/problem+json`), as the
/// OpenAPI document describes it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// `urn:flipframe:problem:CODE`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(flatten)]
    pub extensions: ProblemExtensions,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// An upload refused and recorded as `failed` under `id`.
    #[error("{rejection}")]
    Refused {
        rejection: Rejection,
        id: uuid::Uuid,
    },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}")]
    BadRequest(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the transformed image is not ready: the upload is {0:?}")]
    NotReady(Status),
    #[error("processing failed: {}", .0.message)]
    ProcessingFailed(Failure),
    #[error("{0}")]
    NotImplemented(&'static str),
    #[error("you have {limit} uploads in flight already; retry when one has finished")]
    TooManyUploads { limit: usize },
    #[error("the service is at its upload memory limit; retry shortly")]
    Busy,
    #[error("a request with this Idempotency-Key is still in progress; retry shortly")]
    KeyInUse,
    #[error("this Idempotency-Key was used for a different request body")]
    KeyReused,
    #[error("no webhook is configured for {0:?}: notify names an external token that has one")]
    UnknownRecipient(String),
    /// The storage or the log did not answer: a transient outage.
    #[error("the service cannot reach its storage or its log right now; retry shortly")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Every `code` a problem from the API can carry (the OpenAPI document's enum).
pub const PROBLEM_CODES: &[&str] = &[
    "empty_body",
    "body_too_large",
    "body_too_slow",
    "svg_not_accepted",
    "unsupported_format",
    "content_type_mismatch",
    "dimensions_exceeded",
    "too_many_frames",
    "undecodable_image",
    "too_complex",
    "transform_timeout",
    "decoder_crashed",
    "unauthenticated",
    "invalid_credentials",
    "forbidden",
    "bad_request",
    "not_found",
    "method_not_allowed",
    "not_ready",
    "processing_failed",
    "not_available",
    "too_many_uploads",
    "busy",
    "idempotency_key_in_use",
    "idempotency_key_reused",
    "unknown_recipient",
    "backend_unavailable",
    "internal_error",
];

/// A backend failure is taken for an outage (a 503 to retry); the ledger's
/// rule violations are ours (a 500).
impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Backend(_) => Self::Unavailable(error.into()),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl ApiError {
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Rejected(rejection) | Self::Refused { rejection, .. } => rejection.status(),
            Self::Auth(AuthError::Forbidden) => StatusCode::FORBIDDEN,
            Self::Auth(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotReady(_) => StatusCode::CONFLICT,
            Self::ProcessingFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::TooManyUploads { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::KeyInUse => StatusCode::CONFLICT,
            Self::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            // Well-formed, but naming no one this deployment can tell.
            Self::UnknownRecipient(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Rejected(rejection) | Self::Refused { rejection, .. } => rejection.code(),
            Self::Auth(AuthError::Missing) => "unauthenticated",
            Self::Auth(AuthError::Invalid(_)) => "invalid_credentials",
            Self::Auth(AuthError::Forbidden) => "forbidden",
            Self::BadRequest(_) => "bad_request",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotReady(_) => "not_ready",
            Self::ProcessingFailed(_) => "processing_failed",
            Self::NotImplemented(_) => "not_available",
            Self::TooManyUploads { .. } => "too_many_uploads",
            Self::Busy => "busy",
            Self::KeyInUse => "idempotency_key_in_use",
            Self::KeyReused => "idempotency_key_reused",
            Self::UnknownRecipient(_) => "unknown_recipient",
            Self::Unavailable(_) => "backend_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// What the client reads; never the reason a credential was refused.
    fn detail(&self) -> String {
        match self {
            Self::Auth(AuthError::Missing) => "sign in: send a bearer token".into(),
            Self::Auth(AuthError::Invalid(_)) => "the credentials are not valid".into(),
            Self::Auth(AuthError::Forbidden) => "these credentials may not use this route".into(),
            Self::Internal(_) => "something went wrong on our side; it has been logged".into(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(error) => tracing::error!(error = ?error, "internal error"),
            Self::Unavailable(error) => tracing::warn!(error = ?error, "backend unavailable"),
            Self::Auth(error) => tracing::info!(reason = %error, "authentication refused"),
            _ => tracing::debug!(error = %self, "client error"),
        }
        let status = self.status();
        let extensions = ProblemExtensions {
            code: self.code().to_owned(),
            failure: match &self {
                Self::ProcessingFailed(failure) => Some(failure.clone()),
                _ => None,
            },
            id: match &self {
                Self::Refused { id, .. } => Some(*id),
                _ => None,
            },
        };
        let mut response = problem_response(status, self.code(), self.detail(), extensions);
        let headers = response.headers_mut();
        match &self {
            Self::Auth(AuthError::Missing) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"flipframe\""),
                );
            }
            Self::Auth(AuthError::Invalid(_)) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"flipframe\", error=\"invalid_token\""),
                );
            }
            Self::NotReady(_) | Self::Busy | Self::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            Self::TooManyUploads { .. } | Self::KeyInUse => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_api_gives_is_in_the_documented_enum() {
        let rejections = [
            Rejection::Empty,
            Rejection::BodyTooLarge { limit: 1 },
            Rejection::BodyTooSlow { min_rate: 1 },
            Rejection::Svg,
            Rejection::UnsupportedFormat { detected: None },
            Rejection::ContentTypeMismatch {
                declared: String::new(),
                detected: String::new(),
            },
            Rejection::DimensionsExceeded {
                width: 1,
                height: 1,
                max_side: 1,
                max_pixels: 1,
            },
            Rejection::TooManyFrames { limit: 1 },
            Rejection::undecodable("x"),
            Rejection::TooComplex {
                reason: String::new(),
            },
            Rejection::TransformTimeout { millis: 1 },
            Rejection::DecoderCrashed {
                reason: String::new(),
            },
        ];
        let failure = Failure {
            code: String::new(),
            message: String::new(),
        };
        let errors = rejections.into_iter().map(ApiError::Rejected).chain([
            ApiError::Auth(AuthError::Missing),
            ApiError::Auth(AuthError::Invalid("x")),
            ApiError::Auth(AuthError::Forbidden),
            ApiError::BadRequest(String::new()),
            ApiError::NotFound("x"),
            ApiError::MethodNotAllowed,
            ApiError::NotReady(Status::Pending),
            ApiError::ProcessingFailed(failure),
            ApiError::NotImplemented("x"),
            ApiError::TooManyUploads { limit: 1 },
            ApiError::Busy,
            ApiError::KeyInUse,
            ApiError::KeyReused,
            ApiError::UnknownRecipient(String::new()),
            ApiError::Unavailable(anyhow::anyhow!("x")),
            ApiError::internal(anyhow::anyhow!("x")),
        ]);
        let mut seen = Vec::new();
        for error in errors {
            assert!(PROBLEM_CODES.contains(&error.code()), "{}", error.code());
            seen.push(error.code());
        }
        for code in PROBLEM_CODES {
            assert!(seen.contains(code), "{code} is documented but never given");
        }
    }
}
