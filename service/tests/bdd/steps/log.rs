//! The processing log: lifecycle, filters, pages.

use crate::steps::upload::upload;
use crate::support::images::{png, quadrants};
use crate::world::FlipframeWorld;
use cucumber::{given, then, when};
use serde_json::Value;

#[given("the service runs no background processing")]
fn no_processing(world: &mut FlipframeWorld) {
    world.variant.processing = false;
}

async fn log_items(world: &mut FlipframeWorld, query: &str) -> Vec<Value> {
    let page = world.get_ok(&format!("/v1/images?{query}")).await.json();
    page["items"].as_array().unwrap().clone()
}

#[then(regex = r#"^the log filtered by uploader "([^"]+)" shows only (?:\w+'s|my) uploads$"#)]
async fn filtered_by_uploader(world: &mut FlipframeWorld, name: String) {
    let username = world.username(&name);
    let items = log_items(world, &format!("uploader={username}&limit=100")).await;
    let expected = if username == world.me {
        world.uploads.clone()
    } else {
        world.their_uploads.get(&name).cloned().unwrap_or_default()
    };
    let mut ids: Vec<String> = items
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    ids.reverse();
    assert_eq!(ids, expected);
    assert!(
        items
            .iter()
            .all(|e| e["uploader"]["username"] == username.as_str())
    );
}

#[then(expr = "the log filtered by status {string} shows only failed entries")]
async fn filtered_by_status(world: &mut FlipframeWorld, status: String) {
    let items = log_items(world, &format!("status={status}&limit=100")).await;
    assert!(items.iter().all(|e| e["status"] == status.as_str()));
    let mine: Vec<&Value> = items
        .iter()
        .filter(|e| e["uploader"]["username"] == world.me.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "exactly my one failed upload: {mine:?}");
}

#[given(expr = "I have uploaded {int} photos")]
async fn uploaded_many(world: &mut FlipframeWorld, count: u32) {
    for size in 0..count {
        upload(world, png(quadrants(40 + size, 30)), "image/png", "").await;
        assert_eq!(world.last().status, 202);
    }
}

#[when(expr = "I read my uploads {int} at a time")]
async fn read_pages(world: &mut FlipframeWorld, limit: u32) {
    let mut cursor: Option<String> = None;
    world.pages.clear();
    loop {
        let mut query = format!("uploader={}&limit={limit}", world.me);
        if let Some(cursor) = &cursor {
            query.push_str(&format!("&cursor={cursor}"));
        }
        let response = world
            .send("GET", &format!("/v1/images?{query}"), vec![], None)
            .await;
        assert_eq!(response.status, 200);
        let page = response.json();
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        world.pages.push(page);
        if cursor.is_none() || world.pages.len() > 20 {
            break;
        }
    }
}

#[then(expr = "I get {int} pages with all {int} photos, newest first, each once")]
fn pages_complete(world: &mut FlipframeWorld, pages: usize, photos: usize) {
    assert_eq!(world.pages.len(), pages);
    let seen: Vec<String> = world
        .pages
        .iter()
        .flat_map(|page| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
        })
        .collect();
    let mut expected = world.uploads.clone();
    expected.reverse();
    assert_eq!(seen.len(), photos);
    assert_eq!(seen, expected);
}

#[when(expr = "I read the log with {string}")]
async fn read_with(world: &mut FlipframeWorld, query: String) {
    world
        .send("GET", &format!("/v1/images?{query}"), vec![], None)
        .await;
}

#[when("I ask for an image that does not exist")]
async fn missing_image(world: &mut FlipframeWorld) {
    let id = uuid::Uuid::now_v7();
    world
        .send("GET", &format!("/v1/images/{id}"), vec![], None)
        .await;
}
