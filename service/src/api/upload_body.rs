//! Reads an upload: a raw body with its `Content-Type`, or the `file` field of
//! a multipart form. Never buffers more than the body limit.

use crate::error::ApiError;
use crate::pipeline::Rejection;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Upload bodies held in memory at once across all requests. A request
/// reserves its size (Content-Length, or the body limit when unknown) before
/// its body is read; beyond the budget it waits, and TCP holds the sender back.
#[derive(Debug, Clone)]
pub struct UploadMemory {
    kib: Arc<Semaphore>,
    total_kib: u32,
}

impl UploadMemory {
    /// A budget of `bytes`, never less than one body of `limit` bytes.
    pub fn new(bytes: u64, limit: u64) -> Self {
        let total_kib = u32::try_from(bytes.max(limit).div_ceil(1024)).unwrap_or(u32::MAX >> 3);
        Self {
            kib: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    pub async fn reserve(&self, headers: &HeaderMap, limit: u64) -> OwnedSemaphorePermit {
        let size = declared_length(headers).unwrap_or(limit).min(limit);
        let kib = u32::try_from(size.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .min(self.total_kib);
        Arc::clone(&self.kib)
            .acquire_many_owned(kib)
            .await
            .expect("the upload budget is never closed")
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

#[derive(Debug)]
pub struct UploadBody {
    pub bytes: Bytes,
    pub declared_type: Option<String>,
    pub filename: Option<String>,
}

pub async fn read_upload(request: Request, limit: u64) -> Result<UploadBody, ApiError> {
    let too_large = || ApiError::Rejected(Rejection::BodyTooLarge { limit });
    let declared_length = declared_length(request.headers());
    let declared_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_multipart = declared_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/form-data"));

    if is_multipart {
        return read_multipart(request, limit).await;
    }
    // Refuse before reading a byte when the client already told us the size.
    if declared_length.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let bytes = read_raw(request.into_body(), declared_length, limit).await?;
    Ok(UploadBody {
        bytes,
        declared_type,
        filename: None,
    })
}

/// Reads frames straight into one buffer sized from Content-Length: a single
/// copy of the upload, never more than `limit`.
async fn read_raw(body: Body, declared_length: Option<u64>, limit: u64) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let expected = declared_length.unwrap_or(0).min(limit);
    let mut bytes = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            if is_length_limit(&error) {
                ApiError::Rejected(Rejection::BodyTooLarge { limit })
            } else {
                ApiError::BadRequest(format!("could not read the body: {error}"))
            }
        })?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(ApiError::Rejected(Rejection::BodyTooLarge { limit }));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

async fn read_multipart(request: Request<Body>, limit: u64) -> Result<UploadBody, ApiError> {
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let multipart_error = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::Rejected(Rejection::BodyTooLarge { limit })
        } else {
            ApiError::BadRequest(format!("malformed multipart body: {}", error.body_text()))
        }
    };
    let mut upload = None;
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        if upload.is_some() {
            return Err(ApiError::BadRequest(
                "send exactly one `file` field".to_owned(),
            ));
        }
        let declared_type = field.content_type().map(str::to_owned);
        let filename = field.file_name().map(str::to_owned);
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(ApiError::Rejected(Rejection::BodyTooLarge { limit }));
            }
            bytes.extend_from_slice(&chunk);
        }
        upload = Some(UploadBody {
            bytes: bytes.freeze(),
            declared_type,
            filename,
        });
    }
    upload.ok_or_else(|| ApiError::BadRequest("the multipart form has no `file` field".to_owned()))
}

/// Keeps the last path component, without control characters, at most 255 chars.
pub fn clean_filename(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{HeaderMap, UploadMemory, clean_filename, header};
    use std::time::Duration;

    #[tokio::test]
    async fn uploads_past_the_memory_budget_wait_for_their_turn() {
        let memory = UploadMemory::new(3 << 20, 2 << 20);
        let mut one_mib = HeaderMap::new();
        one_mib.insert(header::CONTENT_LENGTH, (1u64 << 20).into());
        let unknown = HeaderMap::new();
        let first = memory.reserve(&one_mib, 2 << 20).await;
        // No length: the whole body limit is reserved.
        let second = memory.reserve(&unknown, 2 << 20).await;
        let third =
            tokio::time::timeout(Duration::from_millis(50), memory.reserve(&one_mib, 2 << 20));
        assert!(third.await.is_err(), "over budget: waits");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), memory.reserve(&one_mib, 2 << 20));
        assert!(third.await.is_ok(), "admitted once memory is free");
        drop(second);
    }

    #[test]
    fn filenames_are_cleaned() {
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\photos\\cat.jpg").as_deref(),
            Some("cat.jpg")
        );
        assert_eq!(clean_filename("a\u{0}b\nc.png").as_deref(), Some("abc.png"));
        assert_eq!(clean_filename("  "), None);
        assert_eq!(clean_filename(".."), None);
        assert_eq!(clean_filename(&"x".repeat(300)).map(|n| n.len()), Some(255));
    }
}
