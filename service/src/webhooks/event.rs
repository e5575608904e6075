//! The event an external system receives: small, and enough to fetch the
//! result without asking first.

use crate::ledger::{LogEntry, Status};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Event {
    /// Stable per upload and outcome: every attempt and every duplicate of
    /// this event carries it.
    pub webhook_id: String,
    pub body: Value,
}

impl Event {
    pub fn of(entry: &LogEntry) -> Self {
        let status = entry.status.as_str();
        let transformed = entry.transformed.as_ref().map(|info| {
            json!({
                "url": format!("/v1/images/{}/transformed", entry.id),
                "content_type": info.content_type,
                "width": info.width,
                "height": info.height,
                "bytes": info.bytes,
                "sha256": info.sha256,
            })
        });
        let failure = entry
            .failure
            .as_ref()
            .filter(|_| entry.status == Status::Failed)
            .map(|failure| json!({"code": failure.code, "message": failure.message}));
        let mut data = json!({"id": entry.id, "status": status});
        if let Some(transformed) = transformed {
            data["transformed"] = transformed;
        }
        if let Some(failure) = failure {
            data["failure"] = failure;
        }
        Self {
            webhook_id: format!("evt_{}_{status}", entry.id.simple()),
            body: json!({
                "type": format!("image.{status}"),
                "timestamp": entry.updated_at,
                "data": data,
            }),
        }
    }
}
