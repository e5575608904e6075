//! The container path: LocalStack and the mock Cognito run as containers
//! through testcontainers on a local Docker engine, with host networking and
//! a loopback port each (no registry and no port publishing are needed).
//! The images are built locally by `localstack/build-images.sh`.

use crate::emulators::localstack_env;
use crate::support::process::free_port;
use std::any::Any;
use std::time::Duration;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const MOCK_COGNITO_IMAGE: (&str, &str) = ("flipframe/mock-cognito", "dev");
pub const LOCALSTACK_IMAGE: (&str, &str) = ("flipframe/localstack", "2026.3.0");

/// Pings the engine at `DOCKER_HOST` (unix sockets only) or the default socket.
pub async fn engine_answers() -> Result<(), String> {
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".to_owned());
    let ping = async {
        let mut stream = tokio::net::UnixStream::connect(&socket)
            .await
            .map_err(|e| format!("{socket}: {e}"))?;
        stream
            .write_all(b"GET /_ping HTTP/1.0\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        if answer.ends_with("OK") {
            Ok(())
        } else {
            Err(format!("{socket} answered {answer:?}"))
        }
    };
    tokio::time::timeout(Duration::from_secs(3), ping)
        .await
        .map_err(|_| format!("{socket}: no answer"))?
}

pub async fn mock_cognito(pool_id: &str) -> anyhow::Result<(String, Box<dyn Any + Send>)> {
    let port = free_port();
    let container = GenericImage::new(MOCK_COGNITO_IMAGE.0, MOCK_COGNITO_IMAGE.1)
        .with_wait_for(WaitFor::message_on_stdout("mock Cognito pool"))
        .with_network("host")
        .with_env_var("MOCK_COGNITO_LISTEN", format!("127.0.0.1:{port}"))
        .with_env_var("MOCK_COGNITO_POOL_ID", pool_id)
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await?;
    Ok((format!("http://127.0.0.1:{port}"), Box::new(container)))
}

pub async fn localstack() -> anyhow::Result<(String, Box<dyn Any + Send>)> {
    let port = free_port();
    let mut image = GenericImage::new(LOCALSTACK_IMAGE.0, LOCALSTACK_IMAGE.1)
        .with_wait_for(WaitFor::message_on_stdout("Ready."))
        .with_network("host")
        .with_startup_timeout(Duration::from_secs(120));
    for (name, value) in localstack_env(port, std::path::Path::new("/var/lib/localstack")) {
        image = image.with_env_var(name, value);
    }
    let container = image.start().await?;
    Ok((format!("http://127.0.0.1:{port}"), Box::new(container)))
}
