//! External systems and their fixed tokens.

use crate::services::ApiRequest;
use crate::steps::upload::upload;
use crate::support::images::marked_jpeg;
use crate::world::FlipframeWorld;
use cucumber::{given, then, when};
use flipframe::auth::hash_token;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The token a partner holds: long, random per run, stable within it.
fn partner_token(name: &str) -> String {
    static SECRET: OnceLock<String> = OnceLock::new();
    let secret = SECRET.get_or_init(|| uuid::Uuid::new_v4().simple().to_string());
    format!("ff_bdd_{name}_{secret}")
}

fn configure(world: &mut FlipframeWorld, names: Vec<String>) {
    world.variant.external_tokens = names
        .iter()
        .map(|name| format!("{name}:{}", hash_token(&partner_token(name)).unwrap()))
        .collect::<Vec<_>>()
        .join(",");
    if !names.is_empty() {
        world.partners = names;
    }
}

#[given(expr = "the partner token {string} is configured")]
fn configured(world: &mut FlipframeWorld, name: String) {
    configure(world, vec![name]);
}

#[given(expr = "the partner token {string} is being replaced by {string}")]
fn replacing(world: &mut FlipframeWorld, old: String, new: String) {
    configure(world, vec![old, new]);
}

#[given(expr = "the partner token {string} has been revoked")]
fn revoked(world: &mut FlipframeWorld, name: String) {
    let remaining: Vec<String> = world
        .partners
        .iter()
        .filter(|p| **p != name)
        .cloned()
        .collect();
    configure(world, remaining);
    world.partners = vec![name];
}

#[given("I have uploaded a landscape photo that is processed")]
async fn uploaded_processed(world: &mut FlipframeWorld) {
    upload(world, marked_jpeg(), "image/jpeg", "").await;
    assert_eq!(world.last().status, 202);
    let id = world.upload_id();
    let deadline = Instant::now() + Duration::from_secs(90);
    while world.entry(&id).await["status"] != "done" {
        assert!(Instant::now() < deadline, "never processed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn call_as_partner(
    world: &mut FlipframeWorld,
    method: &str,
    path: String,
    header: (&str, String),
) {
    let mut headers = vec![(header.0.to_owned(), header.1)];
    let mut body = None;
    if method == "POST" {
        headers.push(("content-type".into(), "image/jpeg".into()));
        body = Some(marked_jpeg());
    }
    world
        .send_raw(ApiRequest {
            method: method.into(),
            path,
            headers,
            body,
        })
        .await;
}

#[when(
    regex = r"^the partner downloads the transformed image with its token in the (Authorization|X-Api-Key) header$"
)]
async fn partner_download(world: &mut FlipframeWorld, header: String) {
    let token = partner_token(&world.partners[0]);
    let header = if header == "Authorization" {
        ("authorization", format!("Bearer {token}"))
    } else {
        ("x-api-key", token)
    };
    let path = format!("/v1/images/{}/transformed", world.upload_id());
    call_as_partner(world, "GET", path, header).await;
}

#[when(regex = r"^the partner downloads the transformed image with its (old|new) token$")]
async fn partner_download_with(world: &mut FlipframeWorld, which: String) {
    let name = if which == "old" {
        world.partners[0].clone()
    } else {
        world.partners[1].clone()
    };
    let path = format!("/v1/images/{}/transformed", world.upload_id());
    call_as_partner(world, "GET", path, ("x-api-key", partner_token(&name))).await;
}

#[when("a stranger downloads the transformed image with a made-up token")]
async fn stranger_download(world: &mut FlipframeWorld) {
    let path = format!("/v1/images/{}/transformed", world.upload_id());
    call_as_partner(
        world,
        "GET",
        path,
        (
            "authorization",
            format!("Bearer {}", flipframe::auth::new_token()),
        ),
    )
    .await;
}

#[when(
    regex = r"^the partner calls (the upload route|the log|the log entry|the original download) with its token$"
)]
async fn partner_calls(world: &mut FlipframeWorld, route: String) {
    let id = world.upload_id();
    let (method, path) = match route.as_str() {
        "the upload route" => ("POST", "/v1/images".to_owned()),
        "the log" => ("GET", "/v1/images".to_owned()),
        "the log entry" => ("GET", format!("/v1/images/{id}")),
        "the original download" => ("GET", format!("/v1/images/{id}/original")),
        other => panic!("no route {other:?}"),
    };
    let token = partner_token(&world.partners[0]);
    call_as_partner(
        world,
        method,
        path,
        ("authorization", format!("Bearer {token}")),
    )
    .await;
}

#[then(regex = r#"^the download succeeds with a (\d+)×(\d+) "([^"]+)"$"#)]
fn download_succeeds(world: &mut FlipframeWorld, width: u32, height: u32, content_type: String) {
    world.last().expect_image(&content_type, width, height);
}
