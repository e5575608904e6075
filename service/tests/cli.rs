//! The `flipframe` binary itself: transform, token commands, and serve.

mod support;

use support::moto::{moto, unique};

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::images::*;

fn flipframe() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flipframe"));
    command.env_remove("AWS_LAMBDA_RUNTIME_API");
    command
}

/// A dev sign-in token from the issuer whose key lives under `dir`.
fn dev_token(dir: &std::path::Path) -> String {
    let run = flipframe()
        .current_dir(dir)
        .args(["token", "dev", "--user", "alice"])
        .output()
        .unwrap();
    String::from_utf8(run.stdout).unwrap().trim().to_owned()
}

#[test]
fn transform_writes_the_same_result_as_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jpg");
    let output = dir.path().join("out.jpg");
    std::fs::write(&input, marked_jpeg()).unwrap();
    let run = flipframe()
        .arg("transform")
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let image = decode(&std::fs::read(&output).unwrap());
    assert_corners(&image, [WHITE, BLUE, GREEN, RED]);

    let contain = dir.path().join("contain.jpg");
    let wide = dir.path().join("wide.png");
    std::fs::write(&wide, png(quadrants(2000, 500))).unwrap();
    let run = flipframe()
        .args(["transform", "--fit", "contain"])
        .arg(&wide)
        .arg(&contain)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_colour(&decode(&std::fs::read(&contain).unwrap()), 640, 20, BLACK);
}

#[test]
fn transform_refuses_bad_input_with_the_api_s_words() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("evil.svg");
    let output = dir.path().join("out.jpg");
    std::fs::write(&input, fixture("script.svg")).unwrap();
    let run = flipframe()
        .arg("transform")
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("SVG is not accepted: it can carry scripts (svg_not_accepted)"),
        "{stderr}"
    );
    assert!(!output.exists());

    let run = flipframe()
        .args(["transform", "--max-body-bytes", "100"])
        .arg(dir.path().join("evil.svg"))
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("body_too_large"));
}

#[test]
fn token_new_and_token_hash_agree() {
    let run = flipframe()
        .args(["token", "new", "--name", "partner-a"])
        .output()
        .unwrap();
    assert!(run.status.success());
    let stdout = String::from_utf8(run.stdout).unwrap();
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (token, hash) = (field("token:"), field("sha256:"));
    assert!(token.len() >= 32);
    assert!(stdout.contains(&format!("FLIPFRAME_EXTERNAL_TOKENS=partner-a:{hash}")));

    let mut child = flipframe()
        .args(["token", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), hash);

    let mut child = flipframe()
        .args(["token", "hash"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    write!(child.stdin.take().unwrap(), "short").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 32"));
}

#[test]
fn serve_runs_with_embedded_defaults_and_dev_tokens_work() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = serve_with(&[], dir.path());
    let token = dev_token(dir.path());
    assert_eq!(token.split('.').count(), 3);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/v1/images"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(result, 200);
    assert!(
        dir.path().join("flipframe-data/ledger.db").exists(),
        "embedded default data folder"
    );
}

#[test]
fn every_log_line_of_an_upload_names_it_and_the_request_that_made_it() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let json = [("FLIPFRAME_LOG_FORMAT", "json".to_owned())];
    let (mut server, port) = serve_logging(&json, dir.path(), log.into());
    let token = dev_token(dir.path());
    let base = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (id, request_id) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let (id, request_id) = upload_marked(&client, &base, &token).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let entry: serde_json::Value = client
                .get(format!("{base}/v1/images/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if entry["status"] == "done" {
                break;
            }
            assert!(Instant::now() < deadline, "{entry}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (id, request_id)
    });
    server.kill().unwrap();
    server.wait().unwrap();

    // Each JSON line carries its spans' fields: the request's, or the job's.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let names_upload = |line: &&serde_json::Value| {
        line["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|span| span["upload_id"] == id.as_str()))
    };
    let about: Vec<&serde_json::Value> = lines.iter().filter(names_upload).collect();
    let messages: Vec<&str> = about.iter().filter_map(|l| l["message"].as_str()).collect();
    for expected in ["upload accepted", "processing ended"] {
        assert!(messages.contains(&expected), "{expected} in {messages:?}");
    }
    for line in &about {
        let spans = line["spans"].as_array().unwrap();
        assert!(
            spans
                .iter()
                .any(|span| span["request_id"] == request_id.as_str()),
            "{line}"
        );
    }
}

/// Uploads the marked test JPEG; answers its id and the request's id.
async fn upload_marked(client: &reqwest::Client, base: &str, token: &str) -> (String, String) {
    let answer = client
        .post(format!("{base}/v1/images"))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(marked_jpeg())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let request_id = answer.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let entry: serde_json::Value = answer.json().await.unwrap();
    (entry["id"].as_str().unwrap().to_owned(), request_id)
}

#[test]
fn dev_auth_is_refused_on_lambda() {
    let dir = tempfile::tempdir().unwrap();
    let run = flipframe()
        .current_dir(dir.path())
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
        .env_remove("FLIPFRAME_COGNITO_ISSUER")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("dev auth is refused on AWS Lambda"));
}

#[test]
fn bad_configuration_is_refused_at_start() {
    let run = flipframe()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--external-tokens",
            "partner:not-a-hash",
        ])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("SHA-256 hash"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Starts `flipframe serve` with `env` on a free port and waits for /healthz.
fn serve_with(env: &[(&str, String)], dir: &std::path::Path) -> (std::process::Child, u16) {
    serve_logging(env, dir, Stdio::null())
}

fn serve_logging(
    env: &[(&str, String)],
    dir: &std::path::Path,
    log: Stdio,
) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = flipframe();
    command
        .current_dir(dir)
        .env("FLIPFRAME_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("FLIPFRAME_DATA_DIR")
        .stderr(log);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("flipframe serve exited: {status}");
        }
        assert!(Instant::now() < deadline, "flipframe serve never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

#[test]
fn standalone_instances_share_s3_and_dynamodb() {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        (
            "FLIPFRAME_STORAGE",
            format!("s3://{}/flipframe", unique("bucket")),
        ),
        ("FLIPFRAME_LEDGER", format!("dynamodb://{}", unique("log"))),
    ];
    let setup = |expect: &str| {
        let mut command = flipframe();
        command.current_dir(dir.path()).arg("setup");
        for (name, value) in &env {
            command.env(name, value);
        }
        let run = command.output().unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let stdout = String::from_utf8(run.stdout).unwrap();
        assert_eq!(stdout.matches(expect).count(), 2, "{stdout}");
    };
    setup("created");
    setup("exists");

    // Two instances, one with no worker: the other one processes for both.
    let api_only = [env.clone(), vec![("FLIPFRAME_WORKERS", "0".to_owned())]].concat();
    let (mut first, first_port) = serve_with(&api_only, dir.path());
    let (mut second, second_port) = serve_with(&env, dir.path());
    let token = dev_token(dir.path());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let first = format!("http://127.0.0.1:{first_port}");
            let (id, _) = upload_marked(&client, &first, &token).await;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let response = client
                    .get(format!("{first}/v1/images/{id}/transformed"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                if response.status() == 200 {
                    let image = decode(&response.bytes().await.unwrap());
                    assert_corners(&image, [WHITE, BLUE, GREEN, RED]);
                    break;
                }
                assert_eq!(response.status(), 409);
                assert!(
                    Instant::now() < deadline,
                    "never processed by the second instance"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // The second instance serves the same log.
            let log: serde_json::Value = client
                .get(format!("http://127.0.0.1:{second_port}/v1/images"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(log["items"][0]["id"], id);
        })
    }));
    for child in [&mut first, &mut second] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    result.unwrap();
}

#[test]
fn lambda_mode_refuses_local_backends() {
    let dir = tempfile::tempdir().unwrap();
    let run = flipframe()
        .current_dir(dir.path())
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
        .env(
            "FLIPFRAME_COGNITO_ISSUER",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
        )
        .env("FLIPFRAME_COGNITO_CLIENT_IDS", "client")
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("file storage is refused on AWS Lambda"));
}

#[test]
fn version_names_the_commit_and_every_codec_library() {
    let run = flipframe().arg("--version").output().unwrap();
    assert!(run.status.success());
    let text = String::from_utf8(run.stdout).unwrap();
    let first = text.lines().next().unwrap();
    let commit = first.split(['(', ')']).nth(1).unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{first}"
    );
    let has = |prefix: &str| {
        text.lines().any(|line| {
            line.split_once(prefix).is_some_and(|(_, rest)| {
                // A real dotted version follows the library's name.
                let version = rest.split_whitespace().next().unwrap_or("");
                version.split('.').count() == 3
                    && version.split('.').all(|n| n.parse::<u32>().is_ok())
            })
        })
    };
    for library in ["png ", "gif ", "image ", "SQLite "] {
        assert!(has(library), "{library}missing in:\n{text}");
    }
    #[cfg(feature = "native-codecs")]
    for library in ["libjpeg-turbo ", "libwebp "] {
        assert!(has(library), "{library}missing in:\n{text}");
    }
    let short = flipframe().arg("-V").output().unwrap();
    assert_eq!(String::from_utf8(short.stdout).unwrap().trim(), first);
}
