//! The API's one error type, rendered as RFC 9457 problem+json. Client errors
//! carry a stable `code`; internal errors are logged whole and reach the
//! client only as a generic 500.

use crate::auth::AuthError;
use crate::ledger::{Failure, LedgerError, Status};
use crate::pipeline::Rejection;
use crate::storage::StorageError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use problem_details::ProblemDetails;
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

/// The body of every error response (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Problem {
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
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        Self::Internal(error.into())
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
        let mut response = ProblemDetails::from_status_code(status)
            .with_detail(self.detail())
            .with_extensions(extensions)
            .into_response();
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
            Self::NotReady(_) | Self::Busy => {
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
