//! Serving stored images with validators: ETag (the SHA-256), immutable
//! caching for the signed-in client only, and 304 on `If-None-Match`.

use super::AppState;
use crate::error::ApiError;
use crate::ledger::ImageInfo;
use crate::storage::ObjectKey;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// How long a redirect to a presigned URL stays usable.
const REDIRECT_TTL: Duration = Duration::from_secs(5 * 60);

/// Content at an id never changes, but it is private to signed-in callers.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

pub async fn serve_image(
    state: &AppState,
    request_headers: &HeaderMap,
    key: ObjectKey,
    info: &ImageInfo,
    disposition: HeaderValue,
) -> Result<Response, ApiError> {
    let etag = format!("\"{}\"", info.sha256);
    let validators = [
        (header::ETAG, header_value(&etag)?),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
    ];
    if matches_etag(request_headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, validators).into_response());
    }
    if state
        .max_inline_bytes
        .is_some_and(|limit| info.bytes > limit)
        && let Some(url) = state.store.presign_get(&key, REDIRECT_TTL).await?
    {
        return Ok((
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, header_value(&url)?)],
        )
            .into_response());
    }
    let bytes = state.store.get(&key).await?.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("{key} is in the log but not in storage"))
    })?;
    Ok((
        validators,
        [
            (header::CONTENT_TYPE, header_value(&info.content_type)?),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// The file extension of a content type validation found.
pub fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "image/bmp" => "bmp",
        "image/tiff" => "tiff",
        _ => "bin",
    }
}

fn header_value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(ApiError::internal)
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == "*" || candidate == etag)
}
