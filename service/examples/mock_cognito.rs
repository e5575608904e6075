//! The mock Cognito user pool as a standalone server, for the BDD suite's
//! container path: `MOCK_COGNITO_LISTEN` (default 127.0.0.1:9229) and
//! `MOCK_COGNITO_POOL_ID` (default a random `us-east-1_…` id), and
//! `MOCK_COGNITO_CLIENT_IDS`, the app clients its Hosted UI signs in
//! (comma-separated, default `flipframe-bdd`).

#[allow(dead_code)]
#[path = "../tests/support/mock_cognito.rs"]
mod mock_cognito;

use mock_cognito::{Pool, router};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::var("MOCK_COGNITO_LISTEN").unwrap_or_else(|_| "127.0.0.1:9229".into());
    let pool_id = std::env::var("MOCK_COGNITO_POOL_ID").unwrap_or_else(|_| Pool::random_pool_id());
    let client_ids = std::env::var("MOCK_COGNITO_CLIENT_IDS")
        .unwrap_or_else(|_| "flipframe-bdd".into())
        .split(',')
        .map(str::to_owned)
        .collect();
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "mock Cognito pool {pool_id} on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, router(Pool::new(pool_id), client_ids)).await?;
    Ok(())
}
