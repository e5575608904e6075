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
        Self::start_with(&[])
    }

    /// With these environment variables set for the server.
    pub fn start_with(settings: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let port = free_port();
        let data = dir.path().join("data");
        let listen = format!("127.0.0.1:{port}");
        let args = ["serve", "--listen", &listen, "--data-dir", path(&data)];
        let mut env = vec![("RUST_LOG".to_owned(), "warn".to_owned())];
        env.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut process = Lifeline::spawn(&binary(), &args, &env, dir.path().join("serve.log"));
        wait_for_port(port, &mut process, 60);
        let token = dev_token(&data, "bench");
        Self {
            process,
            base: format!("http://{listen}"),
            token,
            client: Client::new(),
            dir,
        }
    }

    /// A dev sign-in token for another user of this server.
    pub fn token_for(&self, user: &str) -> String {
        dev_token(&self.dir.path().join("data"), user)
    }

    /// Uploads one image; answers its id.
    pub async fn upload(&self, bytes: bytes::Bytes) -> String {
        self.upload_as(&self.token, bytes).await
    }

    /// Uploads one image as the holder of `token`; answers its id.
    pub async fn upload_as(&self, token: &str, bytes: bytes::Bytes) -> String {
        let response = self
            .client
            .post(format!("{}/v1/images", self.base))
            .bearer_auth(token)
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
        peak_mib(self.pid())
    }

    /// The server's peak, and the sum of its transform workers' peaks, in MiB.
    pub fn peak_rss_split_mib(&self) -> (f64, f64) {
        let server = self.pid();
        let workers = processes()
            .filter(|pid| parent_of(*pid) == Some(server))
            .map(peak_mib)
            .sum();
        (peak_mib(server), workers)
    }

    fn pid(&self) -> u32 {
        processes()
            .find(|pid| is_our_server(*pid, &self.base))
            .expect("the server process")
    }

    pub fn log(&self) -> String {
        self.process.log_text()
    }
}

fn processes() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// VmHWM in MiB; 0 for a process that has gone.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
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

fn dev_token(data: &Path, user: &str) -> String {
    let output = std::process::Command::new(binary())
        .args(["token", "dev", "--user", user, "--data-dir", path(data)])
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
