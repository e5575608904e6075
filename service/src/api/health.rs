//! Liveness and readiness, open to anyone.

use super::AppState;
use crate::storage::ObjectKey;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
    version: &'static str,
}

/// Liveness: answers while the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Whether each backend answered the last probe.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when both answered, `not_ready` when one did not, `draining`
    /// once the instance is stopping.
    status: &'static str,
    /// The processing log answered a read.
    ledger: bool,
    /// The object storage answered a read.
    storage: bool,
}

/// How long one probe may take, and how long its answer is reused: a crowd
/// polling `/readyz` costs the backends one read each per second at most.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const PROBE_REUSE: Duration = Duration::from_secs(1);

/// The last probe, shared by the requests of one server.
#[derive(Debug, Default)]
pub struct ReadinessProbe {
    last: Mutex<Option<(Instant, Readiness)>>,
    /// Set once a stop began: this instance finishes what it has and takes
    /// nothing new, so a load balancer should send no more.
    draining: AtomicBool,
}

impl ReadinessProbe {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    async fn check(&self, state: &AppState) -> Readiness {
        if self.draining.load(Ordering::Relaxed) {
            return Readiness {
                status: "draining",
                ledger: true,
                storage: true,
            };
        }
        let mut last = self.last.lock().await;
        if let Some((at, readiness)) = *last
            && at.elapsed() < PROBE_REUSE
        {
            return readiness;
        }
        // Reads of an id no upload has: cheap, and they touch the real backends.
        let probe_key = ObjectKey::original(Uuid::nil());
        let (ledger, storage) = tokio::join!(
            tokio::time::timeout(PROBE_TIMEOUT, state.ledger.get(Uuid::nil())),
            tokio::time::timeout(PROBE_TIMEOUT, state.store.get(&probe_key)),
        );
        let (ledger, storage) = (matches!(ledger, Ok(Ok(_))), matches!(storage, Ok(Ok(_))));
        let readiness = Readiness {
            status: if ledger && storage {
                "ready"
            } else {
                "not_ready"
            },
            ledger,
            storage,
        };
        *last = Some((Instant::now(), readiness));
        readiness
    }
}

/// Readiness: 200 while the log and the storage answer, 503 while either
/// is out or the instance is stopping (take it out of rotation; `/healthz`
/// stays 200).
#[utoipa::path(get, path = "/readyz", tag = "meta", responses(
    (status = 200, description = "Both backends answer", body = Readiness),
    (status = 503, description = "A backend is out, or the instance is draining", body = Readiness,
     headers(("Retry-After" = u32))),
))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = state.readiness.check(&state).await;
    if readiness.status == "ready" {
        Json(readiness).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "2")],
            Json(readiness),
        )
            .into_response()
    }
}
