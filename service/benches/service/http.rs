//! `GET /v1/images/{id}/transformed` with a JWT, against nginx serving the
//! same file: wrk on loopback, same connections and duration for both,
//! interleaved rounds, median requests per second.

use crate::image_set::env_number;
use crate::process::{Lifeline, free_port, wait_for_port};
use crate::server::Server;
use bytes::Bytes;
use std::path::Path;

pub async fn run() {
    let photo = std::env::var_os("FLIPFRAME_BENCH_PHOTO")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/bench-images/jpeg-20mp-baseline-422.jpg")
        });
    let (rounds, seconds, connections) = (
        env_number("ROUNDS", 3),
        env_number("SECONDS", 10),
        env_number("CONNECTIONS", 32),
    );
    let server = Server::start();
    let id = server
        .upload(Bytes::from(std::fs::read(&photo).expect("the photo")))
        .await;
    server.wait_done(1).await;
    let transformed = server
        .get(&format!("/v1/images/{id}/transformed"))
        .await
        .bytes()
        .await
        .expect("its bytes");
    let root = server.dir.path().join("nginx");
    std::fs::create_dir_all(root.join("html")).unwrap();
    std::fs::write(root.join("html/transformed.jpg"), &transformed).unwrap();
    let (mut nginx, nginx_port) = start_nginx(&root);
    wait_for_port(nginx_port, &mut nginx, 30);

    let ours = format!("{}/v1/images/{id}/transformed", server.base);
    let theirs = format!("http://127.0.0.1:{nginx_port}/transformed.jpg");
    let auth = format!("Authorization: Bearer {}", server.token);
    let (mut flipframe_rps, mut nginx_rps) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        flipframe_rps.push(wrk(&ours, Some(&auth), connections, seconds));
        nginx_rps.push(wrk(&theirs, None, connections, seconds));
    }
    let (ours, theirs) = (median(flipframe_rps), median(nginx_rps));
    println!(
        "GET of a {:.0} KB transformed JPEG, wrk {connections} connections × {seconds} s, {rounds} interleaved rounds, medians",
        transformed.len() as f64 / 1e3
    );
    println!("  nginx (sendfile, no auth)        {theirs:>10.0} req/s");
    println!("  flipframe (JWT verified, log)    {ours:>10.0} req/s");
    println!(
        "  ratio                            {:>10.2}       (goal >= 0.5)",
        ours / theirs
    );
    drop(nginx);
}

/// nginx with every path under `root`, the same number of workers as cores.
fn start_nginx(root: &Path) -> (Lifeline, u16) {
    let port = free_port();
    let user = std::env::var("USER").unwrap_or_else(|_| "root".to_owned());
    let user_line = if user == "root" { "user root;" } else { "" };
    let conf = format!(
        "{user_line}
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    types {{ image/jpeg jpg; }}
    server {{ listen 127.0.0.1:{port}; root {root}/html; }}
}}
",
        root = root.display()
    );
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::write(root.join("nginx.conf"), conf).unwrap();
    let conf_path = root.join("nginx.conf");
    let args = ["-c", conf_path.to_str().unwrap(), "-g", "daemon off;"];
    let nginx = Lifeline::spawn(Path::new("nginx"), &args, &[], root.join("nginx.log"));
    (nginx, port)
}

/// One wrk run; answers requests per second, refusing runs with errors.
fn wrk(url: &str, header: Option<&str>, connections: usize, seconds: usize) -> f64 {
    let mut command = std::process::Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(header) = header {
        command.args(["-H", header]);
    }
    let output = command.arg(url).output().expect("wrk (apt install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk saw errors on {url}:\n{text}"
    );
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec from wrk:\n{text}"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
