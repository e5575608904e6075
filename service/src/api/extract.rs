//! Extractors that authenticate the caller and turn malformed paths and
//! queries into problem+json instead of axum's plain-text rejections. A
//! handler states who may call it by the caller type it takes.

use super::AppState;
use crate::auth::{AuthError, Caller};
use crate::error::ApiError;
use crate::ledger::Uploader;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A signed-in user; external systems get 403.
#[derive(Debug, Clone)]
pub struct SignedInUser(pub Uploader);

impl FromRequestParts<AppState> for SignedInUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match state.auth.authenticate(&parts.headers).await? {
            Caller::User(user) => Ok(Self(user)),
            Caller::External { name } => {
                tracing::info!(token = %name, "external token refused on a user route");
                Err(AuthError::Forbidden.into())
            }
        }
    }
}

/// A signed-in user or an external system.
#[derive(Debug, Clone)]
pub struct AnyCaller(pub Caller);

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(state.auth.authenticate(&parts.headers).await?))
    }
}

/// Query parameters; a malformed query is a 400 problem.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// An image id from the path; anything that is not an id names no image.
#[derive(Debug)]
pub struct ImageId(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for ImageId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<uuid::Uuid>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|_| ApiError::NotFound("image"))
    }
}
