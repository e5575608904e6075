//! Presigned uploads: for images larger than API Gateway lets through, the
//! client PUTs straight to object storage; validation happens in processing.

use super::AppState;
use super::extract::SignedInUser;
use super::idempotency::{self, Admitted};
use super::upload_body::clean_filename;
use crate::error::{ApiError, Problem};
use crate::jobs::UPLOAD_WINDOW;
use crate::ledger::{LedgerError, LogEntry};
use crate::storage::ObjectKey;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long the upload URL stays valid; the entry fails if nothing arrives
/// within `UPLOAD_WINDOW`.
const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UploadRequest {
    /// The original file name, recorded in the log.
    pub filename: Option<String>,
    /// The type the client will send (it is part of the signature); the real
    /// format is still detected from the bytes.
    #[schema(
        pattern = "^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
    )]
    pub content_type: Option<String>,
    /// External systems to tell when this upload ends, by token name; each
    /// needs a configured webhook.
    #[serde(default)]
    pub notify: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PresignedUpload {
    pub method: String,
    pub url: String,
    /// Headers the PUT must carry exactly.
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
    /// Largest body the processor will accept.
    pub max_bytes: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadTicket {
    pub id: Uuid,
    pub upload: PresignedUpload,
    pub entry: LogEntry,
}

/// The optional JSON object (no body, or `null`, asks for the defaults).
fn upload_request(body: &[u8]) -> Result<UploadRequest, ApiError> {
    let refused =
        |why: String| ApiError::BadRequest(format!("the body is not an upload request: {why}"));
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(UploadRequest::default());
    }
    match serde_json::from_slice(body).map_err(|e| refused(e.to_string()))? {
        serde_json::Value::Null => Ok(UploadRequest::default()),
        object @ serde_json::Value::Object(_) => {
            serde_json::from_value(object).map_err(|e| refused(e.to_string()))
        }
        _ => Err(refused("not a JSON object".to_owned())),
    }
}

/// RFC 6838 `type/subtype` names, as the document's pattern says.
fn is_media_type(text: &str) -> bool {
    let name = |part: &str| {
        (1..=127).contains(&part.len())
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    text.split_once('/')
        .is_some_and(|(kind, subtype)| name(kind) && name(subtype))
}

/// Start a large upload: get a presigned URL to PUT the image to.
///
/// The entry is `pending` until the image arrives; it is then validated and
/// processed like any other. An upload that is not an image ends `failed`
/// with its reason, and the object is deleted.
#[utoipa::path(
    post,
    path = "/v1/uploads",
    tag = "images",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key gets a fresh URL for the same entry")),
    request_body(content = Option<UploadRequest>, description = "Optional file name and content type"),
    responses(
        (status = 201, description = "PUT the image to `upload.url`", body = UploadTicket,
         headers(("Location" = String, description = "The new log entry"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Requests with this Idempotency-Key raced past each other: retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "This Idempotency-Key was used with another file name (`idempotency_key_reused`), or `notify` names no configured webhook (`unknown_recipient`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn start_upload(
    State(state): State<AppState>,
    SignedInUser(uploader): SignedInUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = upload_request(&body)?;
    let content_type = request
        .content_type
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    if !is_media_type(&content_type) {
        return Err(ApiError::BadRequest(
            "content_type is not a media type (type/subtype)".to_owned(),
        ));
    }
    let notify = super::notify::recipients(&state, Some(&request.notify.join(",")))?;
    // A repeat gets a fresh URL for the entry it made the first time.
    let filename = request.filename.as_deref().and_then(clean_filename);
    let replay = match idempotency::admit(&state, &headers, "uploads", &uploader).await? {
        Admitted::Fresh(id) => Err(id),
        // The file name is what the request recorded: another is another request.
        Admitted::Replay(entry) if entry.filename != filename => return Err(ApiError::KeyReused),
        Admitted::Replay(entry) => Ok(*entry),
    };
    let id = match &replay {
        Ok(entry) => entry.id,
        Err(id) => *id,
    };
    let key = ObjectKey::original(id);
    let url = state
        .store
        .presign_put(&key, &content_type, UPLOAD_URL_TTL)
        .await?
        .ok_or(ApiError::NotImplemented(
            "presigned uploads need S3 storage",
        ))?;
    let entry = match replay {
        Ok(entry) => entry,
        Err(_) => {
            let mut entry = LogEntry::new_awaiting_upload(id, filename, uploader);
            entry.notify = notify;
            match state.ledger.insert(&entry).await {
                Ok(()) => {
                    tracing::info!(%id, uploader = %entry.uploader.username, "presigned upload started");
                    entry
                }
                // Another attempt under the same Idempotency-Key made it first.
                Err(LedgerError::Duplicate(_)) => {
                    state.ledger.get(id).await?.ok_or(ApiError::KeyInUse)?
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    let ticket = UploadTicket {
        id,
        upload: PresignedUpload {
            method: "PUT".to_owned(),
            url,
            headers: BTreeMap::from([("content-type".to_owned(), content_type)]),
            expires_at: Utc::now() + chrono::Duration::from_std(UPLOAD_URL_TTL).unwrap_or_default(),
            max_bytes: state.limits.max_body_bytes,
        },
        entry,
    };
    debug_assert!(UPLOAD_WINDOW > UPLOAD_URL_TTL);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/images/{id}"))],
        Json(ticket),
    )
        .into_response())
}
