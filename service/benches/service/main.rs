//! The service under load, through the real binary on a real listener:
//!
//! - `load`: uploads a set of 12–20 MP photos all at once and waits until every
//!   one is processed; prints the wall time against the sum of the pure
//!   transform times ÷ cores (goal ≤ 1.25) and the server's peak RSS.
//! - `http`: `GET /v1/images/{id}/transformed` with a JWT under wrk, against
//!   nginx serving the same file on the same machine (goal ≥ 0.5× its req/s).
//!
//! - `crowd`: 200 uploads from 25 users at once, 20,000 downloads mixing
//!   user JWTs and an external token, then both together: throughput,
//!   p50/p99/max, errors, lost entries, peak RSS beside the memory budgets.
//!
//! `cargo bench --bench service -- load|http|crowd` (the Justfile's
//! `bench-service`, `bench-http` and `load`). Under `cargo test` it runs
//! `load` and `crowd` once on a few generated photos, so the bench cannot rot.

#[path = "../support/image_set.rs"]
mod image_set;
#[path = "../../tests/support/process.rs"]
mod process;

mod crowd;
mod http;
mod load;
mod server;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benchmarking = args.iter().any(|arg| arg == "--bench");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if !benchmarking {
        runtime.block_on(load::smoke());
        runtime.block_on(crowd::smoke());
        return;
    }
    if args.iter().any(|arg| arg == "http") {
        runtime.block_on(http::run());
    } else if args.iter().any(|arg| arg == "crowd") {
        runtime.block_on(crowd::run());
    } else {
        runtime.block_on(load::run());
    }
}
