//! Uploads, the processing log and downloads.

use super::AppState;
use super::disposition;
use super::extract::{AnyCaller, ApiQuery, ImageId, SignedInUser};
use super::idempotency::{self, Admitted};
use super::notify;
use super::responses::{extension_of, serve_image};
use super::upload_body::{UploadBody, clean_filename, read_upload};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::jobs::{Job, describe};
use crate::ledger::{Failure, ImageInfo, LedgerError, LogEntry, LogQuery, Status, Uploader};
use crate::pipeline::{Encoded, OutputFormat, Rejection};
use crate::sandbox::{Mode, TransformRequest};
use crate::storage::{ObjectKey, StorageError};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The original file name, recorded in the log (multipart uploads carry their own).
    filename: Option<String>,
    /// External systems to tell when this upload ends, by token name,
    /// comma-separated; each needs a configured webhook.
    #[param(pattern = "^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$")]
    notify: Option<String>,
}

/// The multipart form of an upload: one `file` field.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The image, with its file name in the part's Content-Disposition.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload one image.
///
/// Send the image as the raw body with its `Content-Type`, or as the `file`
/// field of a `multipart/form-data` form. The format is detected from the
/// bytes; the image must decode completely and stay within the limits. The
/// original is stored byte for byte and processing runs in the background.
/// A refused upload stores nothing and is recorded in the log as `failed`.
#[utoipa::path(
    post,
    path = "/v1/images",
    tag = "images",
    params(
        UploadParams,
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Up to 255 visible ASCII characters: a retry with the same key answers the entry the first request made (`Idempotent-Replayed: true`) instead of making another"),
    ),
    request_body(
        description = "A JPEG, PNG, WebP, GIF, BMP or TIFF image",
        content(
            (Vec<u8> = "application/octet-stream"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/webp"),
            (Vec<u8> = "image/gif"),
            (Vec<u8> = "image/bmp"),
            (Vec<u8> = "image/tiff"),
            (UploadForm = "multipart/form-data"),
        )
    ),
    responses(
        (status = 202, description = "Accepted; processing runs in the background", body = LogEntry,
         headers(("Location" = String, description = "The new log entry"))),
        (status = 400, description = "Empty, truncated, undecodable, over the pixel limits, too costly to decode (`too_complex`), stopped at the deadline (`transform_timeout`) or fatal to the decoder (`decoder_crashed`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "External tokens may not upload", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body arrived slower than the minimum rate (`body_too_slow`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Requests with this Idempotency-Key raced past each other (`idempotency_key_in_use`): retry", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32))),
        (status = 422, description = "This Idempotency-Key was used with another body (`idempotency_key_reused`), or `notify` names no configured webhook (`unknown_recipient`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not an accepted image format", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "This caller has its maximum of uploads in flight (`too_many_uploads`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32))),
        (status = 503, description = "The upload memory budget is full (`busy`), or the storage or the log is out (`backend_unavailable`)", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32))),
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    SignedInUser(uploader): SignedInUser,
    ApiQuery(params): ApiQuery<UploadParams>,
    request: Request,
) -> Response {
    let mut cpu = None;
    let mut response = receive(&state, uploader, params, request, &mut cpu)
        .await
        .into_response();
    // What the transform cost, for the client's and the operator's eyes.
    if let Some(cpu) = cpu {
        let timing = format!(
            "transform;desc=\"CPU\";dur={:.1}",
            cpu.as_secs_f64() * 1000.0
        );
        if let Ok(value) = HeaderValue::from_str(&timing) {
            response.headers_mut().insert(SERVER_TIMING, value);
        }
    }
    response
}

const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

async fn receive(
    state: &AppState,
    uploader: Uploader,
    params: UploadParams,
    request: Request,
    cpu: &mut Option<Duration>,
) -> Result<Response, ApiError> {
    let notify = notify::recipients(state, params.notify.as_deref())?;
    let admission = &state.admission;
    let Some(_in_flight) = admission.uploads.try_enter(&uploader.sub) else {
        return Err(ApiError::TooManyUploads {
            limit: admission.settings.uploads_per_caller,
        });
    };
    let admitted = idempotency::admit(state, request.headers(), "images", &uploader).await?;
    let request_id = super::request_id(request.headers());
    let query_filename = params.filename.as_deref().and_then(clean_filename);
    let limit = state.limits.max_body_bytes;
    let (parts, body) = request.into_parts();
    let meter = admission.meter(body);
    // Holds the body's memory charge until its bytes are stored.
    let _charge = meter.charge();
    let body = read_upload(Request::from_parts(parts, Body::empty()), limit, meter).await;
    let (id, body) = match (admitted, body) {
        (Admitted::Fresh(id), Ok(body)) => (id, body),
        (Admitted::Replay(entry), Ok(body)) => {
            return resume(state, *entry, body.bytes, request_id).await;
        }
        // A repeat's refusal is answered, not logged: its entry exists.
        (Admitted::Fresh(id), Err(ApiError::Rejected(rejection))) => {
            let refused = Refused {
                filename: query_filename,
                uploader,
                notify,
            };
            return refuse(state, id, refused, rejection).await;
        }
        (_, Err(other)) => return Err(other),
    };
    let filename = body
        .filename
        .as_deref()
        .and_then(clean_filename)
        .or(query_filename);
    let checked = inspect_upload(state, &uploader.sub, &body).await?;
    *cpu = Some(checked.cpu);
    let (original, transformed) = match checked.result {
        Ok(inspected) => inspected,
        Err(rejection) => {
            let refused = Refused {
                filename,
                uploader,
                notify,
            };
            return refuse(state, id, refused, rejection).await;
        }
    };

    // Recorded before it is stored: a crash in between leaves an entry the
    // sweep ends as `original_missing`, never an original no entry names.
    let content_type = original.content_type.clone();
    let mut entry = LogEntry::new_pending(id, filename, uploader, original);
    entry.notify = notify;
    match state.ledger.insert(&entry).await {
        Ok(()) => {}
        // Another attempt under the same Idempotency-Key made it first.
        Err(LedgerError::Duplicate(_)) => {
            let first = state.ledger.get(id).await?.ok_or(ApiError::KeyInUse)?;
            return resume(state, first, body.bytes, request_id).await;
        }
        Err(other) => return Err(other.into()),
    }
    let key = ObjectKey::original(id);
    if let Err(error) = state.store.put(&key, body.bytes, &content_type).await {
        abandon(state, id, &key, &error).await;
        return Err(error.into());
    }
    state.jobs.enqueue(Job {
        id,
        transformed,
        request_id,
    });
    tracing::info!(%id, uploader = %entry.uploader.username, "upload accepted");
    Ok(accepted(entry, false))
}

/// Answers a repeated upload with the entry the first request made. One still
/// `pending` may have lost its original with a crash after the entry was
/// written: the retry brings the same bytes, so they are stored (again, which
/// is harmless: the same bytes under the same key) and processing queued.
async fn resume(
    state: &AppState,
    entry: LogEntry,
    bytes: Bytes,
    request_id: Option<String>,
) -> Result<Response, ApiError> {
    idempotency::check_same_body(&entry, &bytes)?;
    if entry.status == Status::Pending
        && let Some(original) = &entry.original
    {
        let key = ObjectKey::original(entry.id);
        state.store.put(&key, bytes, &original.content_type).await?;
        state.jobs.enqueue(Job {
            id: entry.id,
            transformed: None,
            request_id,
        });
    }
    Ok(accepted(entry, true))
}

/// Ends the entry of an upload whose original could not be stored, and
/// removes whatever part of a write the store may have kept.
async fn abandon(state: &AppState, id: Uuid, key: &ObjectKey, error: &StorageError) {
    let failure = Failure {
        code: "storage_unavailable".to_owned(),
        message: format!("the original could not be stored: {error}"),
    };
    if let Err(failed) = state.ledger.fail(id, failure).await {
        tracing::warn!(error = ?failed, %key, "the entry stays for the sweep to end");
    }
    if let Err(cleanup) = state.store.delete(key).await {
        tracing::warn!(error = ?cleanup, %key, "could not remove a failed original");
    }
}

/// 202 with the entry; a replay says so (the draft IETF header's name).
fn accepted(entry: LogEntry, replayed: bool) -> Response {
    let location = format!("/v1/images/{}", entry.id);
    let mut response = (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(entry),
    )
        .into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

struct Checked {
    /// The original's description and, where the worker takes it, the
    /// transform made on the way; or the client's rejection.
    result: Result<(ImageInfo, Option<Encoded>), Rejection>,
    cpu: Duration,
}

/// Validates in the sandbox under the caller's CPU share.
async fn inspect_upload(
    state: &AppState,
    caller: &str,
    body: &UploadBody,
) -> Result<Checked, ApiError> {
    let _permit = state.admission.cpu.acquire(caller).await;
    let keep = state.jobs.takes_transformed();
    let request = TransformRequest {
        mode: if keep {
            Mode::Transform
        } else {
            Mode::Validate
        },
        declared: body.declared_type.clone(),
        spec: state.spec,
        limits: state.limits,
    };
    let ran = state
        .transformer
        .run(request, body.bytes.clone())
        .await
        .map_err(ApiError::internal)?;
    Ok(Checked {
        result: ran
            .result
            .map(|(validated, encoded)| (describe(&body.bytes, &validated), encoded)),
        cpu: ran.cpu,
    })
}

/// Who made a refused upload, and who was to hear of it.
struct Refused {
    filename: Option<String>,
    uploader: Uploader,
    notify: Vec<String>,
}

/// Records a refused upload as `failed` and answers with the rejection.
async fn refuse(
    state: &AppState,
    id: Uuid,
    refused: Refused,
    rejection: Rejection,
) -> Result<Response, ApiError> {
    let Refused {
        filename,
        uploader,
        notify,
    } = refused;
    let failure = Failure {
        code: rejection.code().to_owned(),
        message: rejection.to_string(),
    };
    tracing::info!(%id, uploader = %uploader.username, code = %failure.code, "upload refused");
    let mut entry = LogEntry::new_refused(id, filename, uploader, failure);
    entry.notify = notify;
    match state.ledger.insert(&entry).await {
        Ok(()) => {
            state.notifier.finished(id).await;
            Err(ApiError::Refused { rejection, id })
        }
        // Another attempt under the same Idempotency-Key made the entry.
        Err(LedgerError::Duplicate(_)) => Err(ApiError::Rejected(rejection)),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Entries per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only entries with this status.
    status: Option<Status>,
    /// Only entries uploaded by this username.
    #[param(min_length = 1)]
    uploader: Option<String>,
}

/// One page of the processing log, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogPageBody {
    pub items: Vec<LogEntry>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The processing log, newest first, with cursor pagination and filters.
#[utoipa::path(
    get,
    path = "/v1/images",
    tag = "images",
    params(ListParams),
    responses(
        (status = 200, body = LogPageBody),
        (status = 400, description = "Bad limit, cursor or filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _user: SignedInUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<LogPageBody>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    if params.uploader.as_deref().is_some_and(str::is_empty) {
        return Err(ApiError::BadRequest(
            "uploader must name a user (leave it out for everyone's)".to_owned(),
        ));
    }
    let before = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = state
        .ledger
        .list(&LogQuery {
            limit,
            before,
            status: params.status,
            uploader: params.uploader,
        })
        .await?;
    Ok(Json(LogPageBody {
        items: page.entries,
        next_cursor: page.next.map(encode_cursor),
    }))
}

fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::BadRequest("the cursor is not one this service issued".to_owned()))
}

/// One log entry.
#[utoipa::path(
    get,
    path = "/v1/images/{id}",
    tag = "images",
    params(("id" = Uuid, Path, description = "The upload's id")),
    responses(
        (status = 200, body = LogEntry),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn entry(
    State(state): State<AppState>,
    _user: SignedInUser,
    ImageId(id): ImageId,
) -> Result<Json<LogEntry>, ApiError> {
    Ok(Json(find(&state, id).await?))
}

pub(super) async fn find(state: &AppState, id: Uuid) -> Result<LogEntry, ApiError> {
    state
        .ledger
        .get(id)
        .await?
        .ok_or(ApiError::NotFound("image"))
}

/// The uploaded bytes, exactly as received.
#[utoipa::path(
    get,
    path = "/v1/images/{id}/original",
    tag = "images",
    params(("id" = Uuid, Path, description = "The upload's id")),
    responses(
        (status = 200, description = "The original image", content_type = "image/*",
         headers(("ETag" = String), ("Cache-Control" = String),
                 ("Content-Disposition" = String, description = "attachment, with the logged file name made safe (RFC 6266)"))),
        (status = 307, description = "Too large to answer inline here: fetch it from the presigned `Location`"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 307, description = "Larger than this deployment answers inline: fetch it from the short-lived URL",
         headers(("Location" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such image, or it was refused", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn original(
    State(state): State<AppState>,
    _user: SignedInUser,
    ImageId(id): ImageId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let entry = find(&state, id).await?;
    let info = entry.original.ok_or(ApiError::NotFound("original"))?;
    let disposition = disposition::attachment(
        entry.filename.as_deref(),
        &id.to_string(),
        "",
        extension_of(&info.content_type),
    );
    serve_image(
        &state,
        &headers,
        ObjectKey::original(id),
        &info,
        disposition,
    )
    .await
}

/// The 1280×720 version rotated 180°: JPEG, or PNG where the source has
/// transparency. External systems may call this route and no other.
#[utoipa::path(
    get,
    path = "/v1/images/{id}/transformed",
    tag = "images",
    params(("id" = Uuid, Path, description = "The upload's id")),
    responses(
        (status = 200, description = "The transformed image", content_type = "image/*",
         headers(("ETag" = String), ("Cache-Control" = String),
                 ("Content-Disposition" = String, description = "attachment, with the logged file name made safe (RFC 6266)"))),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 307, description = "Larger than this deployment answers inline: fetch it from the short-lived URL",
         headers(("Location" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still pending or processing; retry after `Retry-After` seconds",
         body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u32))),
        (status = 422, description = "Processing failed; the problem carries the failure", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn transformed(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    ImageId(id): ImageId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let entry = find(&state, id).await?;
    let info = match entry.status {
        Status::Pending | Status::Processing => return Err(ApiError::NotReady(entry.status)),
        Status::Failed => {
            return Err(ApiError::ProcessingFailed(entry.failure.unwrap_or(
                Failure {
                    code: "unknown".to_owned(),
                    message: "processing failed".to_owned(),
                },
            )));
        }
        Status::Done => entry.transformed.ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("entry {id} is done without a result"))
        })?,
    };
    let format = OutputFormat::from_content_type(&info.content_type).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "unexpected output type {}",
            info.content_type
        ))
    })?;
    if let Caller::External { name } = &caller {
        tracing::info!(token = %name, %id, "external download");
        crate::telemetry::metrics::external_download(name);
    }
    let disposition = disposition::attachment(
        entry.filename.as_deref(),
        &id.to_string(),
        &format!("-{}x{}", state.spec.width, state.spec.height),
        format.extension(),
    );
    let key = ObjectKey::transformed(id, format);
    serve_image(&state, &headers, key, &info, disposition).await
}
