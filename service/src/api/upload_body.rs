//! Reads an upload: a raw body with its `Content-Type`, or the `file` field of
//! a multipart form. Never buffers more than the body limit.

use crate::error::ApiError;
use crate::pipeline::Rejection;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use bytes::{Bytes, BytesMut};

#[derive(Debug)]
pub struct UploadBody {
    pub bytes: Bytes,
    pub declared_type: Option<String>,
    pub filename: Option<String>,
}

pub async fn read_upload(request: Request, limit: u64) -> Result<UploadBody, ApiError> {
    let too_large = || ApiError::Rejected(Rejection::BodyTooLarge { limit });
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
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
    let bytes = axum::body::to_bytes(
        request.into_body(),
        usize::try_from(limit).unwrap_or(usize::MAX),
    )
    .await
    .map_err(|error| {
        if is_length_limit(&error) {
            too_large()
        } else {
            ApiError::BadRequest(format!("could not read the body: {error}"))
        }
    })?;
    Ok(UploadBody {
        bytes,
        declared_type,
        filename: None,
    })
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
    use super::clean_filename;

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
