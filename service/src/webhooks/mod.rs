//! Completion webhooks: an external system whose token the uploader named
//! (`?notify=NAME`) hears once when that upload ends `done` or `failed`,
//! through a POST signed per Standard Webhooks (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 under its secret).
//! Only tagged uploads are told about: a partner learns of the images it was
//! meant to fetch and of nothing else. Delivery never holds processing up:
//! standalone, a background task retries with exponential backoff for a
//! bounded time; on Lambda the processor tries a few times within its
//! invocation. Every attempt is recorded on the log entry (`deliveries`).

mod event;
mod recipients;
mod signing;

pub use event::Event;
pub use recipients::{Recipient, Recipients};
pub use signing::{Secret, sign};

use crate::ledger::{Delivery, SharedLedger, rules};
use crate::telemetry::metrics;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

/// How long and how often an event is retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub first_gap: Duration,
    pub max_gap: Duration,
    /// No attempt starts later than this after the first.
    pub give_up_after: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            first_gap: Duration::from_secs(1),
            max_gap: Duration::from_secs(10 * 60),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Notifier {
    deliverer: Option<Arc<Deliverer>>,
    /// Standalone: finished ids go to the background task.
    background: Option<mpsc::UnboundedSender<Uuid>>,
}

impl Notifier {
    /// Tells no one: no recipient is configured.
    pub fn none() -> Self {
        Self {
            deliverer: None,
            background: None,
        }
    }

    /// Delivers from a background task; `finished` returns at once.
    pub fn background(recipients: Recipients, ledger: SharedLedger, retry: Retry) -> Self {
        if recipients.is_empty() {
            return Self::none();
        }
        let deliverer = Arc::new(Deliverer::new(recipients, ledger, retry));
        let (sender, mut finished) = mpsc::unbounded_channel::<Uuid>();
        let worker = Arc::clone(&deliverer);
        tokio::spawn(async move {
            while let Some(id) = finished.recv().await {
                let worker = Arc::clone(&worker);
                tokio::spawn(async move { worker.deliver_all(id).await });
            }
        });
        Self {
            deliverer: Some(deliverer),
            background: Some(sender),
        }
    }

    /// Delivers before `finished` returns (Lambda: nothing runs between
    /// invocations), retrying within `retry`'s bounds.
    pub fn inline(recipients: Recipients, ledger: SharedLedger, retry: Retry) -> Self {
        if recipients.is_empty() {
            return Self::none();
        }
        Self {
            deliverer: Some(Arc::new(Deliverer::new(recipients, ledger, retry))),
            background: None,
        }
    }

    /// Whether `name` can be asked for in `?notify=`.
    pub fn knows(&self, name: &str) -> bool {
        self.deliverer
            .as_ref()
            .is_some_and(|deliverer| deliverer.recipients.get(name).is_some())
    }

    /// The upload `id` has ended: tell whom it names.
    pub async fn finished(&self, id: Uuid) {
        match (&self.background, &self.deliverer) {
            (Some(sender), _) => {
                let _ = sender.send(id);
            }
            (None, Some(deliverer)) => deliverer.deliver_all(id).await,
            (None, None) => {}
        }
    }
}

#[derive(Debug)]
struct Deliverer {
    recipients: Recipients,
    ledger: SharedLedger,
    retry: Retry,
    client: reqwest::Client,
}

/// One attempt may take this long; a slow receiver only delays its own retries.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

impl Deliverer {
    fn new(recipients: Recipients, ledger: SharedLedger, retry: Retry) -> Self {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("flipframe-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with rustls");
        Self {
            recipients,
            ledger,
            retry,
            client,
        }
    }

    async fn deliver_all(&self, id: Uuid) {
        let entry = match self.ledger.get(id).await {
            Ok(Some(entry)) if entry.status.is_finished() => entry,
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(upload_id = %id, %error, "webhooks: cannot read the entry");
                return;
            }
        };
        let deliveries = entry.notify.iter().filter_map(|name| {
            let recipient = self.recipients.get(name);
            if recipient.is_none() {
                tracing::warn!(upload_id = %id, recipient = %name, "webhooks: no longer configured");
            }
            recipient
        });
        futures::future::join_all(deliveries.map(|recipient| self.deliver(id, recipient))).await;
    }

    /// Attempts until delivered or out of time; each attempt is recorded.
    async fn deliver(&self, id: Uuid, recipient: &Recipient) {
        let started = Instant::now();
        let mut gap = self.retry.first_gap;
        loop {
            let entry = match self.ledger.get(id).await {
                Ok(Some(entry)) => entry,
                _ => return,
            };
            let settled = entry.deliveries.iter().any(|delivery| {
                delivery.recipient == recipient.name
                    && (delivery.delivered_at.is_some() || delivery.given_up)
            });
            if settled {
                return;
            }
            let event = Event::of(&entry);
            let outcome = self.attempt(recipient, &event).await;
            let out_of_time = started.elapsed() + gap > self.retry.give_up_after;
            let delivered = outcome.is_ok();
            metrics::webhook_attempt(&recipient.name, delivered);
            let record = Delivery {
                recipient: recipient.name.clone(),
                webhook_id: event.webhook_id.clone(),
                attempts: 0,
                delivered_at: delivered.then(chrono::Utc::now),
                last_error: outcome.err(),
                given_up: !delivered && out_of_time,
            };
            match &record.last_error {
                None => {
                    tracing::info!(upload_id = %id, recipient = %recipient.name, "webhook delivered")
                }
                Some(error) => tracing::warn!(
                    upload_id = %id, recipient = %recipient.name, %error,
                    given_up = record.given_up, "webhook attempt failed"
                ),
            }
            let given_up = record.given_up;
            if let Err(error) = self
                .ledger
                .transition(id, rules::record_delivery(record))
                .await
            {
                tracing::warn!(upload_id = %id, %error, "webhooks: attempt not recorded");
            }
            if delivered || given_up {
                return;
            }
            tokio::time::sleep(gap).await;
            gap = (gap * 2).min(self.retry.max_gap);
        }
    }

    /// One signed POST; a 2xx answer is delivery.
    async fn attempt(&self, recipient: &Recipient, event: &Event) -> Result<(), String> {
        let body = serde_json::to_vec(&event.body).map_err(|e| e.to_string())?;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(&recipient.secret, &event.webhook_id, timestamp, &body);
        let answer = self
            .client
            .post(recipient.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &event.webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|error| format!("no answer: {error}"))?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}
