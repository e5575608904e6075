//! Completion webhooks against a receiver that checks every signature with
//! the Standard Webhooks reference library, fails first attempts on purpose,
//! and counts what it was told.

use crate::helpers::*;
use crate::support::images::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use flipframe::auth::{ExternalTokens, hash_token, new_token};
use flipframe::webhooks::Recipients;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the receiver saw: one line per request.
#[derive(Debug, Clone)]
struct Received {
    webhook_id: String,
    verified: bool,
    event: Value,
}

#[derive(Clone)]
struct Receiver {
    secret: String,
    /// Answer 503 to the first attempt of each event, then 204.
    fail_first: bool,
    /// Answer 500 to every attempt.
    always_fail: bool,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(fail_first: bool, always_fail: bool) -> (Self, String) {
        let receiver = Self {
            secret: format!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
            ),
            fail_first,
            always_fail,
            seen: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `count` distinct events have been answered 2xx.
    async fn wait_for_events(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = self.seen();
            let ids: std::collections::BTreeSet<&str> =
                seen.iter().map(|r| r.webhook_id.as_str()).collect();
            let attempts_to_accept = if self.fail_first { 2 } else { 1 };
            let accepted = ids
                .iter()
                .filter(|id| {
                    seen.iter().filter(|r| r.webhook_id == **id).count() >= attempts_to_accept
                })
                .count();
            if accepted >= count {
                return seen;
            }
            assert!(Instant::now() < deadline, "only {seen:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verified = standardwebhooks::Webhook::new(&receiver.secret)
        .unwrap()
        .verify(&body, &headers)
        .is_ok();
    let webhook_id = headers["webhook-id"].to_str().unwrap().to_owned();
    let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut seen = receiver.seen.lock().unwrap();
    let before = seen.iter().filter(|r| r.webhook_id == webhook_id).count();
    seen.push(Received {
        webhook_id,
        verified,
        event,
    });
    if receiver.always_fail || (receiver.fail_first && before == 0) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

/// An app where the external token `partner` has a webhook to `url`.
async fn app_telling(partner: &str, secret: &str, url: &str, retry_for: Duration) -> TestApp {
    let hash = hash_token(partner).unwrap();
    let webhooks = format!("partner-hooks={secret}@{url}");
    spawn_app_with(move |config| {
        config.external_tokens = ExternalTokens::parse(&format!("partner-hooks:{hash}")).unwrap();
        config.webhooks = Recipients::parse(&webhooks).unwrap();
        config.webhook_retry.give_up_after = retry_for;
    })
    .await
}

async fn upload_notifying(
    app: &TestApp,
    bytes: Vec<u8>,
    content_type: &str,
    notify: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/images?notify={notify}")))
        .bearer_auth(&app.token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// Uploads the marked JPEG telling `notify`; answers its id once accepted.
async fn accepted_id(app: &TestApp, notify: &str) -> String {
    let answer = upload_notifying(app, marked_jpeg(), "image/jpeg", notify).await;
    assert_eq!(answer.status(), 202);
    answer.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_tagged_upload_is_told_once_per_outcome_with_a_signature_that_verifies() {
    let (receiver, url) = Receiver::start(true, false).await;
    let partner = new_token();
    let app = app_telling(&partner, &receiver.secret, &url, Duration::from_secs(60)).await;

    let done_id = accepted_id(&app, "partner-hooks").await;
    let refused = upload_notifying(
        &app,
        b"not a picture".to_vec(),
        "text/plain",
        "partner-hooks",
    )
    .await;
    let refused_id = assert_problem(refused, 415, "unsupported_format").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let untold = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    let entry = app.wait_until_finished(&done_id).await;
    app.wait_until_finished(&untold).await;

    let seen = receiver.wait_for_events(2).await;
    // Give a stray third event or a duplicate time to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen_after = receiver.seen();
    assert_eq!(
        seen_after.len(),
        seen.len(),
        "nothing more arrived: {seen_after:?}"
    );
    assert!(
        seen.iter().all(|r| r.verified),
        "every signature verifies: {seen:?}"
    );
    // Each event twice (503, then 204), each time under the same webhook-id.
    assert_eq!(seen.len(), 4, "{seen:?}");
    let events: Vec<&Received> = seen.iter().filter(|r| !r.event.is_null()).collect();
    let about = |id: &str| -> Vec<&&Received> {
        events
            .iter()
            .filter(|r| r.event["data"]["id"] == id)
            .collect()
    };
    assert!(
        about(&untold).is_empty(),
        "an untagged upload is nobody's business"
    );

    let told_done = about(&done_id);
    assert_eq!(told_done.len(), 2);
    assert_eq!(told_done[0].webhook_id, told_done[1].webhook_id);
    let event = &told_done[0].event;
    assert_eq!(event["type"], "image.done");
    assert_eq!(event["data"]["transformed"]["width"], 1280);
    assert_eq!(event["data"]["transformed"]["height"], 720);
    assert_eq!(
        event["data"]["transformed"]["sha256"],
        entry["transformed"]["sha256"]
    );
    // What the event points at is what the partner's token downloads.
    let link = event["data"]["transformed"]["url"].as_str().unwrap();
    let fetched = app.get_as(&partner, link).await;
    assert_eq!(fetched.status(), 200);

    let told_failed = about(&refused_id);
    assert_eq!(told_failed.len(), 2);
    assert_eq!(told_failed[0].event["type"], "image.failed");
    assert_eq!(
        told_failed[0].event["data"]["failure"]["code"],
        "unsupported_format"
    );
    assert_ne!(told_failed[0].webhook_id, told_done[0].webhook_id);

    // The log entry records both attempts and the delivery.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let entry = app.entry(&done_id).await;
        let delivery = &entry["deliveries"][0];
        if delivery["delivered_at"].is_string() {
            assert_eq!(delivery["recipient"], "partner-hooks");
            assert_eq!(delivery["attempts"], 2);
            assert_eq!(delivery["webhook_id"], told_done[0].webhook_id.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "{entry}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_given_up_on_and_a_silent_one_holds_nothing_up() {
    let (receiver, url) = Receiver::start(false, true).await;
    let partner = new_token();
    let app = app_telling(&partner, &receiver.secret, &url, Duration::from_secs(2)).await;
    let id = accepted_id(&app, "partner-hooks").await;
    app.wait_until_finished(&id).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let delivery = loop {
        let entry = app.entry(&id).await;
        if entry["deliveries"][0]["given_up"] == true {
            break entry["deliveries"][0].clone();
        }
        assert!(Instant::now() < deadline, "{entry}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        delivery["attempts"], 2,
        "attempts at 0 s and 1 s, none past 2 s: {delivery}"
    );
    assert!(delivery["delivered_at"].is_null());
    assert!(
        delivery["last_error"].as_str().unwrap().contains("503"),
        "{delivery}"
    );

    // A receiver that accepts and never answers: processing goes on regardless.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/hooks", silent.local_addr().unwrap());
    let app = app_telling(
        &partner,
        &receiver.secret,
        &silent_url,
        Duration::from_secs(60),
    )
    .await;
    let started = Instant::now();
    let id = accepted_id(&app, "partner-hooks").await;
    app.wait_until_finished(&id).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(
        app.entry(&id).await["deliveries"].is_null(),
        "the first attempt is still waiting"
    );
}

#[tokio::test]
async fn notify_must_name_a_configured_webhook() {
    let (receiver, url) = Receiver::start(false, false).await;
    let app = app_telling(
        &new_token(),
        &receiver.secret,
        &url,
        Duration::from_secs(60),
    )
    .await;
    let answer = upload_notifying(&app, marked_jpeg(), "image/jpeg", "someone-else").await;
    assert_problem(answer, 422, "unknown_recipient").await;
    assert!(app.stored_objects().is_empty());
}
