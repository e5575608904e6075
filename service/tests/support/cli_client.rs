//! Runs the real `flipframe` binary as a client, with its own credentials
//! folder, and reads what it printed.

use serde_json::Value;
use std::path::Path;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Standard output as JSON lines (`--json`).
    pub fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect()
    }
}

/// `flipframe ARGS` against `endpoint`, its sign-ins kept in `config`.
pub async fn flipframe(config: &Path, endpoint: &str, args: &[&str]) -> Run {
    flipframe_fed(config, endpoint, args, "").await
}

/// The same, with `stdin` typed into its standard input.
pub async fn flipframe_fed(config: &Path, endpoint: &str, args: &[&str], stdin: &str) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_flipframe"))
        .args(args)
        .env("FLIPFRAME_CONFIG_DIR", config)
        .env("FLIPFRAME_ENDPOINT", endpoint)
        .env_remove("FLIPFRAME_TOKEN")
        .env_remove("FLIPFRAME_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
