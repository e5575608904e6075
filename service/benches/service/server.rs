//! A `flipframe serve` with embedded defaults in a scratch folder, and the
//! client calls the benchmarks make on it.

use crate::process::{Lifeline, free_port, wait_for_port};
use reqwest::Client;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub struct Server {
    process: Lifeline,
    pub base: String,
    pub token: String,
    pub client: Client,
    pub dir: TempDir,
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flipframe"))
}

impl Server {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let port = free_port();
        let data = dir.path().join("data");
        let listen = format!("127.0.0.1:{port}");
        let args = ["serve", "--listen", &listen, "--data-dir", path(&data)];
        let env = [("RUST_LOG".to_owned(), "warn".to_owned())];
        let mut process = Lifeline::spawn(&binary(), &args, &env, dir.path().join("serve.log"));
        wait_for_port(port, &mut process, 60);
        let token = dev_token(&data);
        Self {
            process,
            base: format!("http://{listen}"),
            token,
            client: Client::new(),
            dir,
        }
    }

    /// Uploads one image; answers its id.
    pub async fn upload(&self, bytes: bytes::Bytes) -> String {
        let response = self
            .client
            .post(format!("{}/v1/images", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "image/jpeg")
            .body(bytes)
            .send()
            .await
            .expect("the upload is answered");
        assert_eq!(response.status().as_u16(), 202, "upload refused");
        let entry: Value = response.json().await.expect("a log entry");
        entry["id"].as_str().expect("an id").to_owned()
    }

    /// A signed-in GET of `path`, which must answer 2xx.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// How many entries are done; panics on any failed one.
    pub async fn count_done(&self) -> usize {
        let mut done = 0;
        let mut cursor: Option<String> = None;
        loop {
            let mut url = "/v1/images?limit=100".to_owned();
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let page: Value = self.get(&url).await.json().await.expect("a log page");
            for item in page["items"].as_array().expect("items") {
                match item["status"].as_str() {
                    Some("done") => done += 1,
                    Some("failed") => panic!("processing failed: {item}"),
                    _ => {}
                }
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return done,
            }
        }
    }

    /// Polls the log until `count` entries are done; answers when that was.
    pub async fn wait_done(&self, count: usize) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if self.count_done().await >= count {
                return Instant::now();
            }
            assert!(Instant::now() < deadline, "processing did not finish");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The server's peak resident set so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let pid = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| is_our_server(*pid, &self.base))
            .expect("the server process");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("its status");
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM");
        kib / 1024.0
    }

    pub fn log(&self) -> String {
        self.process.log_text()
    }
}

/// The process is the lifeline's child: find it by its command line.
fn is_our_server(pid: u32, base: &str) -> bool {
    let listen = base.trim_start_matches("http://");
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| {
            let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            words.first().is_some_and(|w| w.ends_with(b"flipframe"))
                && words.contains(&listen.as_bytes())
        })
        .unwrap_or(false)
}

fn dev_token(data: &Path) -> String {
    let output = std::process::Command::new(binary())
        .args(["token", "dev", "--user", "bench", "--data-dir", path(data)])
        .output()
        .expect("flipframe token dev");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
