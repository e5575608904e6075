//! `flipframe get`: a download streamed into a temporary file beside the
//! target, checked against the SHA-256 the service publishes as its ETag,
//! then renamed into place: never a partial file under the final name. A
//! file already there with the same digest is left alone (304).

use super::args::GetArgs;
use super::{Problem, Session};
use anyhow::Context;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub async fn run(session: Session, args: GetArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        uuid::Uuid::parse_str(&args.id).is_ok(),
        "{} is not an entry id",
        args.id
    );
    let version = if args.original {
        "original"
    } else {
        "transformed"
    };
    let target = match &args.output {
        Some(path) => path.clone(),
        None => default_name(&session, &args.id, args.original).await,
    };
    let mut request = session
        .http()
        .get(session.url(&format!("/v1/images/{}/{version}", args.id)))
        .bearer_auth(session.bearer().await?);
    if let Ok(existing) = std::fs::read(&target) {
        request = request.header(
            reqwest::header::IF_NONE_MATCH,
            format!("\"{}\"", hex::encode(Sha256::digest(&existing))),
        );
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("reaching {}", session.endpoint))?;
    if response.status() == reqwest::StatusCode::NOT_MODIFIED {
        eprintln!("{} is up to date", target.display());
        return Ok(ExitCode::SUCCESS);
    }
    if !response.status().is_success() {
        return Err(Problem::read(response).await.into());
    }
    let expected = response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim_start_matches("W/")
                .trim_matches('"')
                .to_ascii_lowercase()
        });
    let bar = if session.interactive {
        let bar = ProgressBar::new(response.content_length().unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template(
                "[{bar:30.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let folder = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut partial = tempfile::Builder::new()
        .prefix(".flipframe-download-")
        .tempfile_in(&folder)
        .with_context(|| format!("writing in {}", folder.display()))?;
    let mut digest = Sha256::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the download was cut off")?;
        digest.update(&chunk);
        partial.write_all(&chunk)?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let actual = hex::encode(digest.finalize());
    if let Some(expected) = expected.filter(|e| e.len() == 64) {
        anyhow::ensure!(
            expected == actual,
            "the download does not match its ETag (got {actual}, expected {expected}); nothing was written"
        );
    }
    partial.as_file().sync_all()?;
    partial
        .persist(&target)
        .with_context(|| format!("writing {}", target.display()))?;
    if session.json {
        println!(
            "{}",
            serde_json::json!({"id": args.id, "version": version, "file": target, "sha256": actual})
        );
    } else {
        eprintln!("{} ({version}, sha256 {actual})", target.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The logged file name for the original; NAME-1280x720.jpg otherwise.
async fn default_name(session: &Session, id: &str, original: bool) -> PathBuf {
    let entry = session.get_json(&format!("/v1/images/{id}")).await.ok();
    let logged = entry
        .as_ref()
        .and_then(|e| e["filename"].as_str())
        .map(|name| name.rsplit(['/', '\\']).next().unwrap_or(name).to_owned())
        .filter(|name| !name.is_empty() && !name.starts_with('.'));
    if original {
        return PathBuf::from(logged.unwrap_or_else(|| id.to_owned()));
    }
    let stem = logged
        .as_deref()
        .map(|n| n.rsplit_once('.').map(|(s, _)| s).unwrap_or(n).to_owned())
        .unwrap_or_else(|| id.to_owned());
    let png = entry
        .as_ref()
        .and_then(|e| e["transformed"]["content_type"].as_str())
        == Some("image/png");
    PathBuf::from(format!(
        "{stem}-1280x720.{}",
        if png { "png" } else { "jpg" }
    ))
}
