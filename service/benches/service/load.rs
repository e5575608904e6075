//! 50 photos uploaded at once by a crowd of callers: how long until all are
//! processed, against the pure transform time of the same photos spread over
//! the cores.

use crate::image_set::{self, env_number};
use crate::server::Server;
use bytes::Bytes;
use flipframe::pipeline::{self, Limits, TransformSpec};
use futures::future::join_all;
use std::time::{Duration, Instant};

pub async fn run() {
    let photos = image_set::images("FLIPFRAME_BENCH_PHOTOS", "bench-photos")
        .into_iter()
        .map(|(name, bytes)| (name, Bytes::from(bytes)))
        .collect();
    let uploads = env_number("UPLOADS", 50);
    let runs = env_number("RUNS", 3);
    measure(photos, uploads, runs, true).await;
}

/// Under `cargo test`: a few generated photos, once.
pub async fn smoke() {
    let photos = (0..3u8)
        .map(|n| {
            let bytes = image_set::generated_jpeg(n.wrapping_mul(80));
            (format!("generated-{n}.jpg"), Bytes::from(bytes))
        })
        .collect();
    measure(photos, 4, 1, false).await;
}

const UPLOADS_PER_CALLER: usize = 5;

async fn measure(photos: Vec<(String, Bytes)>, uploads: usize, runs: usize, verbose: bool) {
    assert!(!photos.is_empty(), "no photos");
    let (spec, limits) = (TransformSpec::default(), Limits::default());
    // Pure transform times first, alone on the machine, one thread.
    let transform_ms: Vec<f64> = photos
        .iter()
        .map(|(name, bytes)| {
            let ms = median_ms(runs, || {
                pipeline::transform(bytes, &spec, &limits).expect("the photo transforms");
            });
            if verbose {
                println!(
                    "  {name:<48} {:>6.1} MB {ms:>8.1} ms",
                    bytes.len() as f64 / 1e6
                );
            }
            ms
        })
        .collect();
    let set: Vec<usize> = (0..uploads).map(|i| i % photos.len()).collect();
    let transform_sum: f64 = set.iter().map(|&i| transform_ms[i]).sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ideal = transform_sum / cores as f64;

    let server = Server::start();
    let bodies: Vec<Bytes> = set.iter().map(|&i| photos[i].1.clone()).collect();
    let megabytes: f64 = bodies.iter().map(|b| b.len() as f64).sum::<f64>() / 1e6;
    // A crowd, as the admission control expects one: each caller has at most
    // UPLOADS_PER_CALLER uploads in flight, under the server's cap of 8.
    let callers: Vec<String> = (0..uploads.div_ceil(UPLOADS_PER_CALLER))
        .map(|i| server.token_for(&format!("crowd-{i}")))
        .collect();
    let started = Instant::now();
    let ids = join_all(
        bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| server.upload_as(&callers[i / UPLOADS_PER_CALLER], body)),
    )
    .await;
    let accepted = started.elapsed();
    let finished = server.wait_done(ids.len()).await - started;
    let wall = finished.as_secs_f64() * 1000.0;
    let peak = server.peak_rss_mib();

    println!(
        "{uploads} uploads of {} photos ({megabytes:.0} MB) at once, {cores} cores, workers = cores",
        photos.len()
    );
    println!(
        "  sum of pure transform times   {transform_sum:>9.0} ms   (median of {runs} per photo, one thread)"
    );
    println!("  ÷ {cores} cores                    {ideal:>9.0} ms");
    println!(
        "  all accepted (202) after      {:>9.0} ms",
        accepted.as_secs_f64() * 1000.0
    );
    println!("  all processed after           {wall:>9.0} ms");
    println!(
        "  ratio                         {:>9.2}     (goal <= 1.25)",
        wall / ideal
    );
    println!("  server peak RSS               {peak:>9.0} MiB");
    if !verbose {
        assert!(server.log().lines().all(|line| !line.contains("panicked")));
    }
}

fn median_ms(runs: usize, mut work: impl FnMut()) -> f64 {
    let mut samples: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}
