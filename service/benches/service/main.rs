//! The service under load, through the real binary on a real listener:
//!
//! - `load`: uploads a set of 12–20 MP photos all at once and waits until every
//!   one is processed; prints the wall time against the sum of the pure
//!   transform times ÷ cores (goal ≤ 1.25) and the server's peak RSS.
//! - `http`: `GET /v1/images/{id}/transformed` with a JWT under wrk, against
//!   nginx serving the same file on the same machine (goal ≥ 0.5× its req/s).
//!
//! `cargo bench --bench service -- load|http` (the Justfile's `bench-service`
//! and `bench-http`). Under `cargo test` it runs `load` once on a few
//! generated photos, so the bench cannot rot.

#[path = "../support/image_set.rs"]
mod image_set;
#[path = "../../tests/support/process.rs"]
mod process;

mod http;
mod load;
mod server;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benchmarking = args.iter().any(|arg| arg == "--bench");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if !benchmarking {
        runtime.block_on(load::smoke());
        return;
    }
    if args.iter().any(|arg| arg == "http") {
        runtime.block_on(http::run());
    } else {
        runtime.block_on(load::run());
    }
}
