//! The processing log's records, as stored and as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Processing,
    Done,
    Failed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::Processing,
        Status::Done,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

/// Who uploaded: the verified identity from the caller's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Uploader {
    /// The identity provider's stable subject id.
    pub sub: String,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Failure {
    /// Stable machine code, e.g. `undecodable_image`.
    pub code: String,
    pub message: String,
}

/// One stored version of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImageInfo {
    pub content_type: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// Hex SHA-256 of the stored bytes.
    pub sha256: String,
}

/// One upload in the processing log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogEntry {
    /// Time-ordered (UUIDv7): newer uploads sort after older ones.
    pub id: Uuid,
    pub filename: Option<String>,
    pub uploader: Uploader,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The stored original; absent when the upload was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<ImageInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformed: Option<ImageInfo>,
    /// How many times processing has been claimed; bounded so a poison input
    /// cannot loop forever.
    #[serde(default)]
    pub attempts: u32,
    /// External systems (by token name) the uploader asked to tell when this
    /// upload ends; each gets one signed webhook event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    /// What became of those events, one per recipient.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<Delivery>,
}

/// One webhook event's delivery to one recipient: every attempt counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub recipient: String,
    /// The `webhook-id` every attempt carried (receivers deduplicate on it).
    pub webhook_id: String,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, while not delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Retries ran out.
    #[serde(default)]
    pub given_up: bool,
}

impl LogEntry {
    /// An accepted upload whose original is stored and awaits processing.
    pub fn new_pending(
        id: Uuid,
        filename: Option<String>,
        uploader: Uploader,
        original: ImageInfo,
    ) -> Self {
        Self::new(
            id,
            filename,
            uploader,
            Status::Pending,
            Some(original),
            None,
        )
    }

    /// A presigned upload: the client sends the image straight to storage;
    /// processing validates it and records the original then.
    pub fn new_awaiting_upload(id: Uuid, filename: Option<String>, uploader: Uploader) -> Self {
        Self::new(id, filename, uploader, Status::Pending, None, None)
    }

    /// An upload refused at the door: nothing stored, the reason recorded.
    pub fn new_refused(
        id: Uuid,
        filename: Option<String>,
        uploader: Uploader,
        failure: Failure,
    ) -> Self {
        Self::new(id, filename, uploader, Status::Failed, None, Some(failure))
    }

    fn new(
        id: Uuid,
        filename: Option<String>,
        uploader: Uploader,
        status: Status,
        original: Option<ImageInfo>,
        failure: Option<Failure>,
    ) -> Self {
        let now = Utc::now();
        Self {
            id,
            filename,
            uploader,
            status,
            failure,
            created_at: now,
            updated_at: now,
            original,
            transformed: None,
            attempts: 0,
            notify: Vec::new(),
            deliveries: Vec::new(),
        }
    }
}

/// A page request over the log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub limit: u32,
    /// Only entries older than this id (the previous page's last id).
    pub before: Option<Uuid>,
    pub status: Option<Status>,
    /// The uploader's username.
    pub uploader: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    /// Set when more entries follow; pass it as `before` for the next page.
    pub next: Option<Uuid>,
}
