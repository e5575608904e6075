//! A crowd on loopback: 200 uploads of real photos at once from 25 users,
//! then 20,000 downloads of transformed versions mixing user JWTs and an
//! external token, then both at once. Prints throughput, p50/p99/max
//! latency, errors, lost entries and peak RSS beside the configured memory
//! budgets; exits non-zero on a missed goal (0 errors, 0 lost, GET p99 under
//! 50 ms while uploads are processed).

use crate::image_set::{self, env_number};
use crate::server::Server;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The goal for downloads while uploads are being processed.
const GET_P99_GOAL_MS: f64 = 50.0;
/// Uploads one caller may have in flight (the server's default).
const UPLOADS_PER_CALLER: usize = 8;
/// The server's default memory budgets, printed beside what was measured.
const UPLOAD_MEMORY_MIB: f64 = 256.0;
const TRANSFORMED_CACHE_MIB: f64 = 64.0;
const WORKER_ADDRESS_SPACE_MIB: f64 = 1024.0;

pub async fn run() {
    let photos = image_set::images("FLIPFRAME_BENCH_PHOTOS", "bench-photos")
        .into_iter()
        .map(|(_, bytes)| Bytes::from(bytes))
        .collect();
    let uploads = env_number("UPLOADS", 200);
    let gets = env_number("GETS", 20_000);
    if !measure(photos, uploads, gets, true).await {
        std::process::exit(1);
    }
}

/// Under `cargo test`: generated photos, a small crowd, the same checks.
pub async fn smoke() {
    let photos = (0..3u8)
        .map(|n| Bytes::from(image_set::generated_jpeg(n.wrapping_mul(70))))
        .collect();
    assert!(
        measure(photos, 24, 600, false).await,
        "the crowd smoke missed a goal"
    );
}

struct Crowd {
    server: Server,
    users: Vec<String>,
    external: String,
}

/// Latencies of one kind of request, and what went wrong.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: Vec<String>,
    /// 429/503 answers that were retried after Retry-After.
    deferred: usize,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.errors.extend(other.errors);
        self.deferred += other.deferred;
    }

    fn line(&mut self, what: &str, wall: Duration) -> String {
        self.latencies.sort();
        let at = |q: f64| {
            let index = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
            self.latencies
                .get(index)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        format!(
            "{what:<34} n={:<6} {:>8.0}/s  p50={:>7.1} ms  p99={:>7.1} ms  max={:>7.1} ms  errors={}  deferred={}",
            self.latencies.len(),
            self.latencies.len() as f64 / wall.as_secs_f64(),
            at(0.5),
            at(0.99),
            at(1.0),
            self.errors.len(),
            self.deferred
        )
    }

    fn p99_ms(&self) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * 0.99).round() as usize;
        sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

async fn measure(photos: Vec<Bytes>, uploads: usize, gets: usize, verbose: bool) -> bool {
    let external: String = {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..43)
            .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
            .collect()
    };
    let hash = hex::encode(Sha256::digest(external.as_bytes()));
    let server = Server::start_with(&[(
        "FLIPFRAME_EXTERNAL_TOKENS",
        &format!("bench-partner:{hash}"),
    )]);
    let callers = uploads.div_ceil(UPLOADS_PER_CALLER).max(1);
    let users = (0..callers)
        .map(|n| server.token_for(&format!("crowd-{n}")))
        .collect();
    let crowd = Arc::new(Crowd {
        server,
        users,
        external,
    });

    // 1. Uploads alone.
    let started = Instant::now();
    let (mut up, ids) = crowd.upload_all(&photos, uploads, 0).await;
    let up_wall = started.elapsed();
    let lost_first = crowd.lost(&ids).await;
    let processed = started.elapsed();

    // 2. Downloads alone, of what the uploads made.
    let done: Vec<String> = ids.iter().flatten().cloned().collect();
    let started = Instant::now();
    let mut down = crowd.download_all(&done, gets).await;
    let down_wall = started.elapsed();

    // 3. Both at once: the downloads run while new uploads are processed.
    let started = Instant::now();
    let (uploading, downloading) = tokio::join!(
        crowd.upload_all(&photos, uploads, uploads),
        crowd.download_all(&done, gets)
    );
    let both_wall = started.elapsed();
    let (mut up_both, ids_both) = uploading;
    let mut down_both = downloading;
    let lost_both = crowd.lost(&ids_both).await;
    let (server_peak, workers_peak) = crowd.server.peak_rss_split_mib();

    let errors =
        up.errors.len() + down.errors.len() + up_both.errors.len() + down_both.errors.len();
    let lost = lost_first.len() + lost_both.len();
    let get_p99 = down_both.p99_ms();
    println!(
        "crowd: {uploads} uploads from {callers} users, {gets} GETs (user JWTs and an external token), loopback"
    );
    println!("  {}", up.line("uploads alone (to 202)", up_wall));
    println!("  all processed after {:.1} s", processed.as_secs_f64());
    println!("  {}", down.line("GETs alone", down_wall));
    println!(
        "  {}",
        up_both.line("uploads with GETs (to 202)", both_wall)
    );
    println!("  {}", down_both.line("GETs with uploads", both_wall));
    println!(
        "  peak RSS: server {server_peak:.0} MiB (budgets: uploads {UPLOAD_MEMORY_MIB:.0} + cache {TRANSFORMED_CACHE_MIB:.0} MiB), \
         transform workers {workers_peak:.0} MiB (limit {WORKER_ADDRESS_SPACE_MIB:.0} MiB of address space each)"
    );
    println!(
        "crowd: errors={errors} lost={lost} get_p99_with_uploads_ms={get_p99:.1} (goal < {GET_P99_GOAL_MS}) \
         server_peak_mib={server_peak:.0}"
    );
    for error in up
        .errors
        .iter()
        .chain(&down.errors)
        .chain(&up_both.errors)
        .chain(&down_both.errors)
        .take(10)
    {
        println!("   {error}");
    }
    for id in lost_first.iter().chain(&lost_both).take(10) {
        println!("   lost: {id}");
    }
    // Memory stays within the budgets plus the runtime's own (a generous 256 MiB).
    let within_budget = server_peak < UPLOAD_MEMORY_MIB + TRANSFORMED_CACHE_MIB + 256.0;
    // The debug build of `cargo test` is not held to the latency goal.
    let fast_enough = !verbose || get_p99 < GET_P99_GOAL_MS;
    errors == 0 && lost == 0 && within_budget && fast_enough
}

impl Crowd {
    /// Uploads `count` photos at once (each user holds its per-caller share),
    /// retrying 429/503 after their Retry-After with the same Idempotency-Key.
    async fn upload_all(
        self: &Arc<Self>,
        photos: &[Bytes],
        count: usize,
        offset: usize,
    ) -> (Tally, Vec<Option<String>>) {
        let mut running = FuturesUnordered::new();
        for index in 0..count {
            let crowd = Arc::clone(self);
            let body = photos[index % photos.len()].clone();
            let token = self.users[index / UPLOADS_PER_CALLER % self.users.len()].clone();
            running.push(async move { crowd.upload(body, token, offset + index).await });
        }
        let (mut tally, mut ids) = (Tally::default(), Vec::new());
        while let Some((one, id)) = running.next().await {
            tally.merge(one);
            ids.push(id);
        }
        (tally, ids)
    }

    async fn upload(&self, body: Bytes, token: String, index: usize) -> (Tally, Option<String>) {
        let mut tally = Tally::default();
        let started = Instant::now();
        loop {
            let sent = self
                .server
                .client
                .post(format!("{}/v1/images", self.server.base))
                .bearer_auth(&token)
                .header("content-type", "image/jpeg")
                .header("idempotency-key", format!("crowd-{index}"))
                .body(body.clone())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    tally.errors.push(format!("upload {index}: {error}"));
                    return (tally, None);
                }
            };
            match response.status() {
                StatusCode::ACCEPTED => {
                    tally.latencies.push(started.elapsed());
                    let entry: Value = response.json().await.unwrap_or_default();
                    return (tally, entry["id"].as_str().map(str::to_owned));
                }
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    tally.deferred += 1;
                    let wait = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                        .unwrap_or(1);
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                other => {
                    let text = response.text().await.unwrap_or_default();
                    tally.errors.push(format!("upload {index}: {other} {text}"));
                    return (tally, None);
                }
            }
        }
    }

    /// `gets` downloads of the transformed versions, 64 at a time; every
    /// other one with the external token.
    async fn download_all(self: &Arc<Self>, ids: &[String], gets: usize) -> Tally {
        let mut tally = Tally::default();
        if ids.is_empty() {
            tally.errors.push("nothing to download".into());
            return tally;
        }
        let mut running = FuturesUnordered::new();
        let mut next = 0;
        while next < gets || !running.is_empty() {
            while next < gets && running.len() < 64 {
                let crowd = Arc::clone(self);
                let id = ids[next % ids.len()].clone();
                let external = next % 2 == 0;
                running.push(async move { crowd.download(&id, external).await });
                next += 1;
            }
            if let Some(result) = running.next().await {
                match result {
                    Ok(latency) => tally.latencies.push(latency),
                    Err(error) => tally.errors.push(error),
                }
            }
        }
        tally
    }

    async fn download(&self, id: &str, external: bool) -> Result<Duration, String> {
        let started = Instant::now();
        let request = self
            .server
            .client
            .get(format!("{}/v1/images/{id}/transformed", self.server.base));
        let request = if external {
            request.header("x-api-key", &self.external)
        } else {
            request.bearer_auth(&self.users[0])
        };
        let response = request.send().await.map_err(|e| format!("GET {id}: {e}"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("GET {id}: {e}"))?;
        if status != StatusCode::OK || body.len() < 1000 {
            return Err(format!("GET {id}: {status}, {} bytes", body.len()));
        }
        Ok(started.elapsed())
    }

    /// Acknowledged uploads that did not end `done` within ten minutes.
    async fn lost(&self, ids: &[Option<String>]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut lost = Vec::new();
        for id in ids.iter().flatten() {
            loop {
                let entry: Value = self
                    .server
                    .get(&format!("/v1/images/{id}"))
                    .await
                    .json()
                    .await
                    .unwrap_or_default();
                match entry["status"].as_str() {
                    Some("done") => break,
                    Some("pending" | "processing") if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    other => {
                        lost.push(format!("{id}: {other:?} {}", entry["failure"]));
                        break;
                    }
                }
            }
        }
        lost
    }
}
