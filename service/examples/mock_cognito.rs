//! The mock Cognito user pool as a standalone server, for the BDD suite's
//! container path: `MOCK_COGNITO_LISTEN` (default 127.0.0.1:9229) and
//! `MOCK_COGNITO_POOL_ID` (default a random `us-east-1_…` id).

#[allow(dead_code)]
#[path = "../tests/support/mock_cognito.rs"]
mod mock_cognito;

use mock_cognito::{Pool, router};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::var("MOCK_COGNITO_LISTEN").unwrap_or_else(|_| "127.0.0.1:9229".into());
    let pool_id = std::env::var("MOCK_COGNITO_POOL_ID").unwrap_or_else(|_| Pool::random_pool_id());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "mock Cognito pool {pool_id} on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, router(Pool::new(pool_id))).await?;
    Ok(())
}
