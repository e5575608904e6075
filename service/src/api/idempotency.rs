//! `Idempotency-Key` on the routes that create entries: a client that
//! retries after losing the answer (a cut connection, a timeout) gets the
//! entry its first request made instead of a second one.
//!
//! The key is scoped to the caller and the route, hashed, and bound to the
//! new entry's id in the ledger before the body is read. A later request
//! with the key then replays that entry. A binding without its entry is an
//! attempt that made nothing (it crashed, or is still reading its body): the
//! new request carries on under the bound id, and should both reach the
//! entry, the ledger keeps the first and the other replays it. So a crash
//! never holds a key. A refused attempt (nothing stored) does not hold its
//! key either: the retry runs.
//! A repeat must carry the same request: another body under a used key is
//! a client bug, answered 422 rather than silently replayed.

use super::AppState;
use crate::error::ApiError;
use crate::ledger::{KeyBinding, LogEntry, Status, Uploader};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const HEADER: &str = "idempotency-key";

pub enum Admitted {
    /// A new request: make the entry under this id.
    Fresh(Uuid),
    /// A repeat: answer with the entry the first request made.
    Replay(Box<LogEntry>),
}

/// Decides whether a create request is new or a repeat of one already made.
pub async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    route: &str,
    uploader: &Uploader,
) -> Result<Admitted, ApiError> {
    let admitted = decide(state, headers, route, uploader).await?;
    let id = match &admitted {
        Admitted::Fresh(id) => *id,
        Admitted::Replay(entry) => entry.id,
    };
    // From here on, every line of this request names its upload.
    tracing::Span::current().record("upload_id", tracing::field::display(id));
    Ok(admitted)
}

async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    route: &str,
    uploader: &Uploader,
) -> Result<Admitted, ApiError> {
    let id = Uuid::now_v7();
    let Some(value) = headers.get(HEADER) else {
        return Ok(Admitted::Fresh(id));
    };
    let value = value.as_bytes();
    if value.is_empty() || value.len() > 255 || !value.iter().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned(),
        ));
    }
    let key = scoped_key(route, &uploader.sub, value);
    let mut replacing = None;
    // Two rounds at most: a takeover can lose a race only to another taker.
    for _ in 0..3 {
        let KeyBinding::Existing { id: bound, .. } =
            state.ledger.bind_request_key(&key, id, replacing).await?
        else {
            return Ok(Admitted::Fresh(id));
        };
        match state.ledger.get(bound).await? {
            Some(entry) if !refused(&entry) => return Ok(Admitted::Replay(Box::new(entry))),
            Some(_) => replacing = Some(bound),
            None => return Ok(Admitted::Fresh(bound)),
        }
    }
    Err(ApiError::KeyInUse)
}

/// Failed with nothing kept: refused at upload, or its original never
/// reached the storage (an outage, or a crash between entry and original).
fn refused(entry: &LogEntry) -> bool {
    entry.status == Status::Failed
        && (entry.original.is_none()
            || entry.failure.as_ref().is_some_and(|failure| {
                ["storage_unavailable", "original_missing"].contains(&failure.code.as_str())
            }))
}

/// A replayed upload must bring the bytes the first request stored.
pub fn check_same_body(entry: &LogEntry, bytes: &[u8]) -> Result<(), ApiError> {
    let digest = hex::encode(Sha256::digest(bytes));
    match &entry.original {
        Some(original) if original.sha256 == digest => Ok(()),
        _ => Err(ApiError::KeyReused),
    }
}

fn scoped_key(route: &str, sub: &str, value: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [route.as_bytes(), sub.as_bytes(), value] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scoped_to_route_and_caller() {
        let key = scoped_key("images", "sub-a", b"k1");
        assert_ne!(key, scoped_key("uploads", "sub-a", b"k1"));
        assert_ne!(key, scoped_key("images", "sub-b", b"k1"));
        // Length-prefixed: moving bytes between parts changes the key.
        assert_ne!(scoped_key("a", "bc", b"d"), scoped_key("ab", "c", b"d"));
        assert_eq!(key, scoped_key("images", "sub-a", b"k1"));
    }
}
