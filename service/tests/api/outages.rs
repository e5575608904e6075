//! Backend outages: while the storage or the log is out, requests fail fast
//! with 503 + Retry-After (problem+json, never a 500 or a hang), `/readyz`
//! says not ready while `/healthz` stays live, and the service recovers by
//! itself once the backend is back, with everything acknowledged before.

use crate::helpers::*;
use crate::support::images::*;
use crate::support::outage::Outage;
use flipframe::aws::AwsSettings;
use reqwest::Response;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// An outage answer must come well within a client's patience.
const FAIL_FAST: Duration = Duration::from_secs(10);

async fn assert_unavailable(app: &TestApp, response: Response, started: Instant) {
    assert!(
        started.elapsed() < FAIL_FAST,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"2"[..]),
        "{} {:?}",
        response.status(),
        response.headers()
    );
    assert_problem(response, 503, "backend_unavailable").await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200, "liveness does not depend on backends");
}

async fn readiness(app: &TestApp) -> (u16, Value) {
    // Probes are reused for a second: wait for a fresh one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = app.get("/readyz").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn upload_timed(app: &TestApp) -> (Response, Instant) {
    let started = Instant::now();
    let response = app.upload(marked_jpeg(), "image/jpeg").await;
    (response, started)
}

/// Everything acknowledged before the outage is still there and downloadable.
async fn assert_kept(app: &TestApp, id: &str) {
    let entry = app.wait_until_finished(id).await;
    assert_eq!(entry["status"], "done", "{entry}");
    let transformed = app.get(&format!("/v1/images/{id}/transformed")).await;
    assert_eq!(transformed.status(), 200);
    let image = decode(&transformed.bytes().await.unwrap());
    assert_eq!((image.width(), image.height()), (1280, 720));
}

fn assert_no_partial_writes(app: &TestApp) {
    let stored = app.stored_objects();
    assert!(
        !stored.iter().any(|name| name.contains(".partial-")),
        "a refused write leaves no partial file: {stored:?}"
    );
}

/// Swaps the originals folder for a plain file: every read and write of an
/// original fails with an I/O error (permissions would not stop root).
fn break_originals(data_dir: &Path) -> impl FnOnce() {
    let folder = data_dir.join("objects/originals");
    let aside = data_dir.join("objects/originals-aside");
    std::fs::rename(&folder, &aside).unwrap();
    std::fs::write(&folder, b"not a folder").unwrap();
    move || {
        std::fs::remove_file(&folder).unwrap();
        std::fs::rename(&aside, &folder).unwrap();
    }
}

#[tokio::test]
async fn a_storage_outage_answers_503_and_the_service_recovers_by_itself() {
    let app = spawn_app().await;
    let before = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    app.wait_until_finished(&before).await;
    assert_eq!(readiness(&app).await.0, 200);

    let repair = break_originals(&app.data_dir);
    let (response, started) = upload_timed(&app).await;
    assert_unavailable(&app, response, started).await;
    let original = app.get(&format!("/v1/images/{before}/original")).await;
    assert_eq!(original.status(), 503);
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        (body["ledger"].as_bool(), body["storage"].as_bool()),
        (Some(true), Some(false))
    );
    // The refused upload is in the log as failed, and no part of it is kept.
    let log: Value = app
        .get("/v1/images?status=failed")
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["failure"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["storage_unavailable"], "{log}");

    repair();
    assert_eq!(readiness(&app).await.0, 200);
    let after = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    assert_kept(&app, &after).await;
    assert_kept(&app, &before).await;
    assert_no_partial_writes(&app);
    app.stop().await;
}

#[tokio::test]
async fn a_locked_log_answers_503_not_500() {
    let app = spawn_app().await;
    let before = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    app.wait_until_finished(&before).await;

    // Another process holds the write lock past the busy timeout.
    let locker = rusqlite::Connection::open(app.data_dir.join("ledger.db")).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (response, started) = upload_timed(&app).await;
    assert_unavailable(&app, response, started).await;
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);

    let after = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    assert_kept(&app, &after).await;
    assert_kept(&app, &before).await;
    app.stop().await;
}

#[tokio::test]
async fn an_s3_and_dynamodb_outage_answers_503_and_the_service_recovers_by_itself() {
    let use_moto = on_moto("outage").await;
    let outage = Outage::relay_to(&crate::support::moto::moto().endpoint).await;
    let endpoint = outage.endpoint.clone();
    let app = spawn_app_with(move |config| {
        use_moto(config);
        config.aws = AwsSettings::emulator(&endpoint);
    })
    .await;
    let before = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    app.wait_until_finished(&before).await;
    assert_eq!(readiness(&app).await.0, 200);

    outage.begin();
    let (response, started) = upload_timed(&app).await;
    assert_unavailable(&app, response, started).await;
    // A finished entry never changes: it is still read from the cache.
    let entry: Value = app
        .get(&format!("/v1/images/{before}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(entry["status"], "done", "{entry}");
    let started = Instant::now();
    let listing = app.get("/v1/images").await;
    assert_unavailable(&app, listing, started).await;
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        (body["ledger"].as_bool(), body["storage"].as_bool()),
        (Some(false), Some(false))
    );

    outage.end();
    assert_eq!(readiness(&app).await.0, 200);
    let after = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    assert_kept(&app, &after).await;
    assert_kept(&app, &before).await;
    app.stop().await;
}

/// A tmpfs mounted over a folder for one test, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(folder: &Path, size: &str) -> Self {
        std::fs::create_dir_all(folder).unwrap();
        let mounted = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "flipframe-test",
            ])
            .arg(folder)
            .status();
        assert!(
            mounted.is_ok_and(|status| status.success()),
            "mounting a small tmpfs needs root (CI runs as root)"
        );
        Self(folder.to_owned())
    }

    fn grow(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_answers_503_and_keeps_nothing_half_written() {
    let data = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&data.path().join("objects"), "1m");
    let app = spawn_app_in(data.path(), |_| {}).await;
    let before = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    app.wait_until_finished(&before).await;

    // Fill it: each photo is a fresh one, until the disk refuses.
    let mut full = None;
    for _ in 0..200 {
        let (response, started) = upload_timed(&app).await;
        if response.status() != 202 {
            full = Some((response, started));
            break;
        }
    }
    let (response, started) = full.expect("a 1 MiB disk fills up");
    assert_unavailable(&app, response, started).await;
    assert_no_partial_writes(&app);

    // Room made: uploads succeed again, and what was kept before still is.
    disk.grow("64m");
    let after = app.upload_ok(marked_jpeg(), "image/jpeg").await;
    assert_kept(&app, &after).await;
    assert_kept(&app, &before).await;
    app.stop().await;
}
