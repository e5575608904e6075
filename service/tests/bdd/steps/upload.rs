//! Uploading: raw bodies, multipart forms, presigned uploads, and what ends
//! up in storage and in the log.

use crate::images;
use crate::world::FlipframeWorld;
use cucumber::{then, when};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Uploads `bytes` and remembers the upload (accepted or refused).
pub async fn upload(world: &mut FlipframeWorld, bytes: Vec<u8>, content_type: &str, query: &str) {
    world.sent = bytes.clone();
    let headers = vec![("content-type".to_owned(), content_type.to_owned())];
    world
        .send("POST", &format!("/v1/images{query}"), headers, Some(bytes))
        .await;
    remember(world);
}

/// The id of the entry the last upload answer names, accepted or refused.
fn remember(world: &mut FlipframeWorld) {
    let response = world.last();
    if response
        .header("content-type")
        .is_some_and(|t| t.contains("json"))
    {
        let body = response.json();
        if response.status == 202 {
            world.accepted = Some(body.clone());
        }
        if let Some(id) = body["id"].as_str() {
            world.uploads.push(id.to_owned());
        }
    }
}

fn multipart(bytes: &[u8], filename: &str, content_type: &str) -> (String, Vec<u8>) {
    let boundary = format!("flipframe{}", uuid::Uuid::new_v4().simple());
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[when(regex = r#"^I upload (.+) as "([^"]+)"$"#)]
async fn upload_raw(world: &mut FlipframeWorld, image: String, content_type: String) {
    upload(world, images::named(&image), &content_type, "").await;
}

#[when(regex = r#"^I upload (.+) as "([^"]+)" named "([^"]+)"$"#)]
async fn upload_named(
    world: &mut FlipframeWorld,
    image: String,
    content_type: String,
    filename: String,
) {
    upload(
        world,
        images::named(&image),
        &content_type,
        &format!("?filename={filename}"),
    )
    .await;
}

#[when(regex = r#"^I upload (.+) as the form file "([^"]+)"$"#)]
async fn upload_form(world: &mut FlipframeWorld, image: String, filename: String) {
    let bytes = images::named(&image);
    world.sent = bytes.clone();
    let (content_type, body) = multipart(&bytes, &filename, "image/jpeg");
    world
        .send(
            "POST",
            "/v1/images",
            vec![("content-type".into(), content_type)],
            Some(body),
        )
        .await;
    remember(world);
}

#[when(regex = r#"^"([^"]+)" uploads (.+)$"#)]
async fn someone_uploads(world: &mut FlipframeWorld, name: String, image: String) {
    let token = world.others[&name].clone();
    let mine = world.credentials.replace(token);
    let headers = vec![("content-type".to_owned(), "image/png".to_owned())];
    let response = world
        .send("POST", "/v1/images", headers, Some(images::named(&image)))
        .await;
    assert_eq!(response.status, 202);
    let id = response.json()["id"].as_str().unwrap().to_owned();
    world.their_uploads.entry(name).or_default().push(id);
    world.credentials = mine;
}

#[then("the upload is accepted")]
async fn accepted(world: &mut FlipframeWorld) {
    let response = world.last();
    response.expect_status(202);
    let id = world.upload_id();
    assert_eq!(
        response.header("location"),
        Some(format!("/v1/images/{id}").as_str())
    );
    assert_eq!(response.json()["status"], "pending");
}

/// Checks the entry as the upload answer returned it: a fast worker may have
/// moved it along since.
#[then(regex = r#"^the log entry says "([^"]+)" and is mine$"#)]
async fn says_and_mine(world: &mut FlipframeWorld, status: String) {
    let entry = world.accepted.clone().expect("an accepted upload");
    assert_eq!(entry["id"], world.upload_id());
    assert_eq!(entry["status"], status, "{entry}");
    assert_eq!(entry["uploader"]["username"], world.me, "{entry}");
}

#[then(regex = r#"^the log entry says "([^"]+)"$"#)]
async fn says(world: &mut FlipframeWorld, status: String) {
    let id = world.upload_id();
    let entry = world.entry(&id).await;
    assert_eq!(entry["status"], status, "{entry}");
}

#[then(
    regex = r#"^(?:the log entry says|the log shows my upload as) "([^"]+)" with the code "([^"]+)"$"#
)]
async fn says_with_code(world: &mut FlipframeWorld, status: String, code: String) {
    let id = world.upload_id();
    let entry = world.entry(&id).await;
    assert_eq!(entry["status"], status, "{entry}");
    assert_eq!(entry["failure"]["code"], code, "{entry}");
    assert!(
        entry["failure"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{entry}"
    );
    assert_eq!(entry["uploader"]["username"], world.me);
}

#[then(regex = r#"^the original is recorded as a (\d+)×(\d+) "([^"]+)"$"#)]
async fn original_sized(world: &mut FlipframeWorld, width: u32, height: u32, content_type: String) {
    let id = world.upload_id();
    let entry = world.entry(&id).await;
    assert_eq!(entry["original"]["content_type"], content_type, "{entry}");
    assert_eq!(
        (
            entry["original"]["width"].as_u64(),
            entry["original"]["height"].as_u64()
        ),
        (Some(width.into()), Some(height.into()))
    );
}

#[then(regex = r#"^the original is recorded as a "([^"]+)"$"#)]
async fn original_typed(world: &mut FlipframeWorld, content_type: String) {
    let id = world.upload_id();
    let entry = world.entry(&id).await;
    assert_eq!(entry["original"]["content_type"], content_type, "{entry}");
}

#[then(expr = "the log entry records the file name {string}")]
async fn file_name(world: &mut FlipframeWorld, filename: String) {
    let id = world.upload_id();
    assert_eq!(world.entry(&id).await["filename"], filename);
}

/// Polls until every one of my uploads is `done` or `failed`.
#[when("processing has finished")]
async fn processing_finished(world: &mut FlipframeWorld) {
    let deadline = Instant::now() + Duration::from_secs(90);
    for id in world.uploads.clone() {
        loop {
            let entry = world.entry(&id).await;
            if matches!(entry["status"].as_str(), Some("done" | "failed")) {
                break;
            }
            assert!(Instant::now() < deadline, "{id} never finished: {entry}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[then("I can download the original exactly as I sent it")]
async fn original_exact(world: &mut FlipframeWorld) {
    let id = world.upload_id();
    let response = world
        .send("GET", &format!("/v1/images/{id}/original"), vec![], None)
        .await
        .clone();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, world.sent, "byte for byte");
}

#[then(regex = r#"^the transformed image is a (\d+)×(\d+) "([^"]+)"$"#)]
async fn transformed_is(world: &mut FlipframeWorld, width: u32, height: u32, content_type: String) {
    let id = world.upload_id();
    let response = world
        .send("GET", &format!("/v1/images/{id}/transformed"), vec![], None)
        .await
        .clone();
    response.expect_image(&content_type, width, height);
    world.downloaded = response.body;
}

#[then(
    regex = r#"^downloading its transformed version is refused with status (\d+) and code "([^"]+)"$"#
)]
async fn transformed_refused(world: &mut FlipframeWorld, status: u16, code: String) {
    let id = world.upload_id();
    let response = world
        .send("GET", &format!("/v1/images/{id}/transformed"), vec![], None)
        .await;
    response.expect_status(status);
    assert_eq!(response.json()["code"], code);
}

#[then("nothing is stored for it")]
async fn nothing_stored(world: &mut FlipframeWorld) {
    // Refusals that happen before a log entry exists (413 without reading) name no id.
    let Some(id) = world.uploads.last().cloned() else {
        return;
    };
    assert!(
        !world.service().await.original_stored(&id).await,
        "an original for {id} is in storage"
    );
}

#[then("the log entry describes both versions with their sizes and checksums")]
async fn both_versions(world: &mut FlipframeWorld) {
    let id = world.upload_id();
    let entry = world.entry(&id).await;
    for version in ["original", "transformed"] {
        let info = &entry[version];
        assert!(info["bytes"].as_u64().unwrap() > 0, "{entry}");
        assert!(info["width"].as_u64().unwrap() > 0 && info["height"].as_u64().unwrap() > 0);
        let sha = info["sha256"].as_str().unwrap();
        assert!(
            sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
            "{sha}"
        );
    }
}

// ---- presigned uploads ----

#[when(expr = "I start a presigned upload for {string}")]
async fn start_presigned(world: &mut FlipframeWorld, filename: String) {
    let content_type = if filename.ends_with(".jpg") {
        "image/jpeg"
    } else {
        "application/octet-stream"
    };
    let body = json!({"filename": filename, "content_type": content_type})
        .to_string()
        .into_bytes();
    let response = world
        .send(
            "POST",
            "/v1/uploads",
            vec![("content-type".into(), "application/json".into())],
            Some(body),
        )
        .await;
    if response.status == 201 {
        let ticket: Value = response.json();
        world
            .uploads
            .push(ticket["id"].as_str().unwrap().to_owned());
        world.ticket = Some(ticket);
    }
}

#[then("I receive an upload URL and a pending log entry")]
async fn received_ticket(world: &mut FlipframeWorld) {
    let response = world.last();
    response.expect_status(201);
    let ticket = world.ticket.clone().unwrap();
    assert_eq!(ticket["upload"]["method"], "PUT");
    assert!(
        ticket["upload"]["url"]
            .as_str()
            .unwrap()
            .starts_with("http")
    );
    assert_eq!(ticket["entry"]["status"], "pending");
    assert_eq!(
        response.header("location"),
        Some(format!("/v1/images/{}", ticket["id"].as_str().unwrap()).as_str())
    );
}

#[when(regex = r"^I send (.+) to the upload URL$")]
async fn send_to_url(world: &mut FlipframeWorld, image: String) {
    let ticket = world
        .ticket
        .clone()
        .expect("a presigned upload was started");
    let bytes = images::named(&image);
    let mut request = reqwest::Client::new()
        .put(ticket["upload"]["url"].as_str().unwrap())
        .body(bytes);
    for (name, value) in ticket["upload"]["headers"].as_object().unwrap() {
        request = request.header(name, value.as_str().unwrap());
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "PUT to the upload URL: {}",
        response.status()
    );
    let id = ticket["id"].as_str().unwrap().to_owned();
    world.service().await.uploaded_directly(&id).await;
}
