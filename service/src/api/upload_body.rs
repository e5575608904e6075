//! Reads an upload: a raw body with its `Content-Type`, or the `file` field of
//! a multipart form, through the admission meter. Never buffers more than
//! the body limit.

use super::body_pool::BodyBuffer;
use crate::admission::{BodyFault, MeteredBody};
use crate::error::ApiError;
use crate::pipeline::Rejection;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;

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

/// Reads the upload through `meter`; a body the meter stopped is refused
/// for being too slow, or answered 503 when memory stayed full.
pub async fn read_upload(
    request: Request,
    limit: u64,
    meter: MeteredBody,
) -> Result<UploadBody, ApiError> {
    let fault = meter.fault_cell();
    let read = read_metered(request, limit, meter).await;
    match (read, *fault.lock().expect("fault")) {
        (_, Some(BodyFault::TooSlow { min_rate })) => {
            Err(ApiError::Rejected(Rejection::BodyTooSlow { min_rate }))
        }
        (_, Some(BodyFault::Busy)) => Err(ApiError::Busy),
        (read, None) => read,
    }
}

async fn read_metered(
    request: Request,
    limit: u64,
    meter: MeteredBody,
) -> Result<UploadBody, ApiError> {
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
        let (parts, _) = request.into_parts();
        return read_multipart(Request::from_parts(parts, meter.into_body()), limit).await;
    }
    // Refuse before reading a byte when the client already told us the size.
    if declared_length.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let bytes = read_raw(meter, declared_length, limit).await?;
    Ok(UploadBody {
        bytes,
        declared_type,
        filename: None,
    })
}

/// Reads frames into one buffer from the pool.
async fn read_raw(
    mut meter: MeteredBody,
    declared_length: Option<u64>,
    limit: u64,
) -> Result<Bytes, ApiError> {
    let mut bytes = BodyBuffer::take(declared_length.map(|length| length.min(limit) as usize));
    while let Some(chunk) = meter.next_frame().await {
        let chunk = chunk
            .map_err(|error| ApiError::BadRequest(format!("could not read the body: {error}")))?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(ApiError::Rejected(Rejection::BodyTooLarge { limit }));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

async fn read_multipart(request: Request, limit: u64) -> Result<UploadBody, ApiError> {
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
        let mut bytes = BodyBuffer::take(None);
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
