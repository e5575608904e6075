//! The web console in headless Chromium, through the browser journeys the
//! console integration test uses too.

use crate::support::browser::{Browser, Console};
use crate::support::images::{marked_jpeg, transparent_png};
use crate::world::FlipframeWorld;
use cucumber::{given, then, when};
use sha2::{Digest, Sha256};

impl FlipframeWorld {
    async fn console(&self) -> Console<'_> {
        let base_url = self
            .service()
            .await
            .base_url()
            .expect("console scenarios run on targets with a listener")
            .to_owned();
        Console {
            browser: self.browser.as_ref().expect("the console is open"),
            base_url,
        }
    }

    /// Writes a file to drop, named as the feature names it.
    fn file_to_drop(&mut self, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let folder = self
            .files
            .get_or_insert_with(|| tempfile::tempdir().unwrap());
        let path = folder.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

#[given("I open the console")]
async fn open(world: &mut FlipframeWorld) {
    world.browser = Some(Browser::start(1280, 900).await);
    world.console().await.open().await;
}

#[given(expr = "I sign in as {string} on the sign-in page")]
#[when(expr = "I sign in as {string} on the sign-in page")]
async fn sign_in(world: &mut FlipframeWorld, name: String) {
    world.me = world.username(&name);
    let me = world.me.clone();
    world.console().await.sign_in(&me).await;
}

#[given(expr = "I drop a photo, a transparent PNG and a text file named {string}")]
#[when(expr = "I drop a photo, a transparent PNG and a text file named {string}")]
async fn drop_three(world: &mut FlipframeWorld, text_name: String) {
    world.sent = marked_jpeg();
    let photo = world.sent.clone();
    let files = [
        world.file_to_drop("photo.jpg", &photo),
        world.file_to_drop("transparent.png", &transparent_png(640, 480)),
        world.file_to_drop(&text_name, b"a shopping list, not a picture\n"),
    ];
    world.console().await.choose_files(&files).await;
}

#[given(expr = "I drop a text file named {string}")]
async fn drop_text(world: &mut FlipframeWorld, name: String) {
    let file = world.file_to_drop(&name, b"a shopping list, not a picture\n");
    world.console().await.choose_files(&[file]).await;
}

#[then(expr = "{string} is refused next to its name because it is {string}")]
async fn refused(world: &mut FlipframeWorld, name: String, reason: String) {
    let outcome = world.console().await.upload_outcome(&name).await;
    assert!(outcome.starts_with("Refused:"), "{outcome}");
    assert!(outcome.contains(&reason), "{outcome}");
}

#[then(expr = "the photo and the PNG turn {string} without the page reloading")]
async fn turn(world: &mut FlipframeWorld, status: String) {
    let console = world.console().await;
    let before = console.browser.client.current_url().await.unwrap();
    let marker = console
        .browser
        .eval("return window.__kept = performance.timeOrigin", vec![])
        .await;
    for name in ["photo.jpg", "transparent.png"] {
        console.wait_status(name, &status).await;
    }
    assert_eq!(console.browser.client.current_url().await.unwrap(), before);
    let kept = console.browser.eval("return window.__kept", vec![]).await;
    assert_eq!(kept, marker, "the same page, never reloaded");
}

#[then("the console shows each of them as a 1280×720 picture")]
async fn thumbnails(world: &mut FlipframeWorld) {
    let console = world.console().await;
    for name in ["photo.jpg", "transparent.png"] {
        assert_eq!(console.thumbnail_size(name).await, (1280, 720), "{name}");
    }
}

#[then("downloading the photo's original gives back exactly the file I dropped")]
async fn original(world: &mut FlipframeWorld) {
    let console = world.console().await;
    console.row_action("photo.jpg", "original").await;
    let downloaded = console.browser.downloaded("photo.jpg").await;
    assert_eq!(Sha256::digest(&downloaded), Sha256::digest(&world.sent));
}

#[when(expr = "I filter the log to {string} uploads by me")]
async fn filter(world: &mut FlipframeWorld, status: String) {
    let me = world.me.clone();
    let console = world.console().await;
    console.wait_status("notes.jpg", "failed").await;
    console.filter(&status, &me).await;
}

#[then(expr = "the log lists only {string}, as {string}")]
async fn only(world: &mut FlipframeWorld, name: String, status: String) {
    let rows = world.console().await.rows().await;
    assert_eq!(rows, vec![(name, status)]);
}

#[when("I sign out")]
async fn sign_out(world: &mut FlipframeWorld) {
    world.console().await.sign_out().await;
}

#[then("the console asks me to sign in again")]
async fn asks_again(world: &mut FlipframeWorld) {
    let console = world.console().await;
    let visible = console
        .browser
        .eval(
            "return !document.getElementById('welcome').hidden
                && document.getElementById('workspace').hidden",
            vec![],
        )
        .await;
    assert_eq!(visible, true);
}

#[then("the browser keeps no token of mine")]
async fn no_tokens(world: &mut FlipframeWorld) {
    let (session, persistent) = world.console().await.session_storage_keys().await;
    assert!(
        session.is_empty() && persistent == 0,
        "{session:?}, {persistent}"
    );
}
