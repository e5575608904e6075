//! The command-line client: the real binary against a real server.

use crate::helpers::{TestApp, on_moto, spawn_app, spawn_app_with};
use crate::support::cli_client::flipframe;
use crate::support::images::{jpeg, marked_jpeg, quadrants};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn signed_in(app: &TestApp, endpoint: &str, user: &str) -> tempfile::TempDir {
    let config = tempfile::tempdir().unwrap();
    let login = flipframe(config.path(), endpoint, &["login", "--user", user]).await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    let saved = config.path().join("credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the user can read the sign-in");
    }
    let _ = app;
    config
}

/// Twenty distinct photos and two files that are not images.
fn folder() -> (tempfile::TempDir, Vec<PathBuf>) {
    let folder = tempfile::tempdir().unwrap();
    let mut photos = Vec::new();
    for n in 0..20u32 {
        let path = folder.path().join(format!("photo-{n:02}.jpg"));
        std::fs::write(&path, jpeg(&quadrants(320 + n * 16, 200 + n * 9))).unwrap();
        photos.push(path);
    }
    std::fs::write(folder.path().join("readme.txt"), "not a picture").unwrap();
    std::fs::write(folder.path().join("fake.png"), "still not a picture").unwrap();
    std::fs::write(folder.path().join(".hidden.jpg"), "skipped").unwrap();
    (folder, photos)
}

#[tokio::test]
async fn a_folder_uploads_with_every_outcome_reported_and_exit_code_1() {
    let app = spawn_app().await;
    let config = signed_in(&app, &app.address, "carol").await;
    let (folder, photos) = folder();
    let run = flipframe(
        config.path(),
        &app.address,
        &[
            "upload",
            folder.path().to_str().unwrap(),
            "--wait",
            "--json",
            "--concurrency",
            "6",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "two files are refused: {}", run.stderr);
    let lines = run.lines();
    assert_eq!(lines.len(), 22, "hidden files are skipped: {}", run.stdout);
    let done: Vec<&Value> = lines.iter().filter(|l| l["status"] == "done").collect();
    let refused: Vec<&Value> = lines.iter().filter(|l| l["status"] == "refused").collect();
    assert_eq!((done.len(), refused.len()), (20, 2), "{}", run.stdout);
    for line in &refused {
        assert!(
            line["reason"].as_str().unwrap().contains("not an image"),
            "{line}"
        );
    }
    // The log agrees: 22 entries by carol, 20 done.
    let log = flipframe(
        config.path(),
        &app.address,
        &["log", "--uploader", "carol", "--limit", "50", "--json"],
    )
    .await;
    assert_eq!(log.code, 0, "{}", log.stderr);
    let entries = log.lines();
    assert_eq!(entries.len(), 22);
    assert_eq!(entries.iter().filter(|e| e["status"] == "done").count(), 20);

    // `get` is byte-exact and never leaves a partial file.
    let photo = done
        .iter()
        .find(|l| l["file"].as_str().unwrap().ends_with("photo-03.jpg"))
        .unwrap();
    let id = photo["id"].as_str().unwrap();
    let target = folder.path().join("back.jpg");
    let get = flipframe(
        config.path(),
        &app.address,
        &[
            "get",
            id,
            "--original",
            "-o",
            target.to_str().unwrap(),
            "--json",
        ],
    )
    .await;
    assert_eq!(get.code, 0, "{}", get.stderr);
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(&photos[3]).unwrap()
    );
    assert_eq!(
        get.lines()[0]["sha256"],
        hex::encode(Sha256::digest(std::fs::read(&photos[3]).unwrap()))
    );
    let flipped = folder.path().join("flipped.jpg");
    let get = flipframe(
        config.path(),
        &app.address,
        &["get", id, "-o", flipped.to_str().unwrap()],
    )
    .await;
    assert_eq!(get.code, 0, "{}", get.stderr);
    let image = image::load_from_memory(&std::fs::read(&flipped).unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (1280, 720));
    let leftovers: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".flipframe-download")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn an_upload_cut_off_after_the_server_committed_is_retried_into_one_entry() {
    let app = spawn_app().await;
    let proxy = CuttingProxy::start(&app.address).await;
    let config = signed_in(&app, &proxy.address, "dave").await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), marked_jpeg()).unwrap();
    let run = flipframe(
        config.path(),
        &proxy.address,
        &["upload", file.path().to_str().unwrap(), "--wait", "--json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        proxy.cut.load(Ordering::SeqCst),
        1,
        "the proxy cut one answer"
    );
    let line = &run.lines()[0];
    assert_eq!(line["status"], "done", "{line}");
    assert_eq!(line["attempts"], 2, "{line}");
    let page: Value = app
        .get("/v1/images?uploader=dave")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "exactly one entry: {page}"
    );
}

#[tokio::test]
async fn large_files_go_through_presigned_uploads_on_s3_and_dynamodb() {
    let use_aws = on_moto("client").await;
    let app = spawn_app_with(|config| {
        use_aws(config);
        config.max_inline_bytes = Some(16 * 1024);
        // The sweep (lease / 4) notices presigned uploads within a second.
        config.processing_lease = std::time::Duration::from_secs(4);
    })
    .await;
    let config = signed_in(&app, &app.address, "erin").await;
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("big.jpg"), marked_jpeg()).unwrap();
    std::fs::write(folder.path().join("small.jpg"), jpeg(&quadrants(64, 36))).unwrap();
    let run = flipframe(
        config.path(),
        &app.address,
        &[
            "upload",
            folder.path().to_str().unwrap(),
            "--wait",
            "--json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let lines = run.lines();
    let via = |name: &str| {
        let line = lines
            .iter()
            .find(|l| l["file"].as_str().unwrap().ends_with(name))
            .unwrap();
        assert_eq!(line["status"], "done", "{line}");
        line["via"].as_str().unwrap().to_owned()
    };
    assert_eq!(via("big.jpg"), "presigned");
    assert_eq!(via("small.jpg"), "inline");
}

#[tokio::test]
async fn without_a_sign_in_the_client_says_what_to_do() {
    let app = spawn_app().await;
    let config = tempfile::tempdir().unwrap();
    let run = flipframe(config.path(), &app.address, &["log"]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("flipframe login"), "{}", run.stderr);
    let run = flipframe(config.path(), &app.address, &["completions", "bash"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("flipframe") && run.stdout.contains("upload"));
}

/// Forwards to the server, but drops the first answer to `POST /v1/images`
/// once the server has sent it: the upload is committed, the client never
/// hears so.
struct CuttingProxy {
    address: String,
    cut: Arc<AtomicUsize>,
}

impl CuttingProxy {
    async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let cut = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(AtomicBool::new(true));
        let counter = Arc::clone(&cut);
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                let server = TcpStream::connect(&upstream).await.unwrap();
                let (armed, counter) = (Arc::clone(&armed), Arc::clone(&counter));
                tokio::spawn(relay(client, server, armed, counter));
            }
        });
        Self { address, cut }
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<AtomicBool>,
    cut: Arc<AtomicUsize>,
) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let doomed = Arc::new(AtomicBool::new(false));
    let marked = Arc::clone(&doomed);
    let upward = tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(read) = from_client.read(&mut buffer).await {
            if read == 0 {
                break;
            }
            let chunk = &buffer[..read];
            if chunk.windows(15).any(|w| w == b"POST /v1/images")
                && armed.swap(false, Ordering::SeqCst)
            {
                marked.store(true, Ordering::SeqCst);
            }
            if to_server.write_all(chunk).await.is_err() {
                break;
            }
        }
    });
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(read) = from_server.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        if doomed.load(Ordering::SeqCst) {
            cut.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if to_client.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    upward.abort();
}
