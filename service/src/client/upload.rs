//! `flipframe upload`: files and folders, several at a time, each streamed
//! from disk with its own progress bar and a total; retried on connection
//! errors and busy answers without ever making a second entry (each file
//! carries one `Idempotency-Key` through all its attempts); large files
//! through the presigned path; a summary at the end.

use super::args::UploadArgs;
use super::progress::Bars;
use super::{Problem, Session, human_bytes};
use anyhow::Context;
use futures::StreamExt;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Attempts per file before it is reported as an error.
const ATTEMPTS: u32 = 6;
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize)]
struct Outcome {
    file: String,
    bytes: u64,
    /// accepted, refused, error; with `--wait`: done or failed.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    attempts: u32,
    /// `inline` (in the request) or `presigned` (straight to object storage).
    via: &'static str,
}

/// What the service says about uploads (public, from the console's settings).
struct Limits {
    max_bytes: Option<u64>,
    inline_max_bytes: Option<u64>,
}

pub async fn run(session: Session, args: UploadArgs) -> anyhow::Result<ExitCode> {
    let files = collect(&args.paths, args.recursive)?;
    anyhow::ensure!(!files.is_empty(), "no files to upload");
    session.bearer().await?;
    let limits = limits(&session).await;
    let session = Arc::new(session);
    let bars = Bars::new(&session, &files);
    let limits = Arc::new(limits);
    let mut outcomes: Vec<Outcome> = futures::stream::iter(files.iter().cloned())
        .map(|(path, bytes)| {
            let (session, limits, bars) = (Arc::clone(&session), Arc::clone(&limits), bars.clone());
            async move {
                let bar = bars.file(&path, bytes);
                let outcome = upload_file(&session, &limits, &path, bytes, &bar).await;
                let line = format!(
                    "{} {}{}",
                    outcome.status,
                    outcome.file,
                    reason_suffix(&outcome)
                );
                bars.finish(&bar, line);
                if !session.interactive && !session.json {
                    eprintln!(
                        "{}: {}{}",
                        outcome.file,
                        outcome.status,
                        reason_suffix(&outcome)
                    );
                }
                outcome
            }
        })
        .buffer_unordered(args.concurrency as usize)
        .collect()
        .await;
    if args.wait {
        wait_for_processing(&session, &mut outcomes, &bars).await;
    }
    bars.clear();
    outcomes.sort_by(|a, b| a.file.cmp(&b.file));
    report(&session, &outcomes);
    let wanted = if args.wait { "done" } else { "accepted" };
    let all_good = outcomes.iter().all(|o| o.status == wanted);
    Ok(if all_good {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Files named, and the files of folders named (hidden ones skipped there).
fn collect(paths: &[PathBuf], recursive: bool) -> anyhow::Result<Vec<(PathBuf, u64)>> {
    let mut files = Vec::new();
    for path in paths {
        let metadata =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if metadata.is_dir() {
            walk(path, recursive, &mut files)?;
        } else {
            files.push((path.clone(), metadata.len()));
        }
    }
    Ok(files)
}

fn walk(folder: &Path, recursive: bool, files: &mut Vec<(PathBuf, u64)>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot list {}", folder.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let metadata = entry.metadata()?;
        if metadata.is_dir() {
            if recursive {
                walk(&entry.path(), recursive, files)?;
            }
        } else if metadata.is_file() {
            files.push((entry.path(), metadata.len()));
        }
    }
    Ok(())
}

async fn limits(session: &Session) -> Limits {
    let settings: Option<Value> = async {
        let response = session
            .http()
            .get(session.url("/console/config.json"))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }
    .await;
    let upload = settings.as_ref().map(|s| &s["upload"]);
    Limits {
        max_bytes: upload.and_then(|u| u["max_bytes"].as_u64()),
        inline_max_bytes: upload.and_then(|u| u["inline_max_bytes"].as_u64()),
    }
}

async fn upload_file(
    session: &Session,
    limits: &Limits,
    path: &Path,
    bytes: u64,
    bar: &ProgressBar,
) -> Outcome {
    let mut outcome = Outcome {
        file: path.display().to_string(),
        bytes,
        status: "error".to_owned(),
        id: None,
        reason: None,
        attempts: 0,
        via: "inline",
    };
    if let Some(max) = limits.max_bytes.filter(|max| bytes > *max) {
        outcome.status = "refused".to_owned();
        outcome.reason = Some(format!(
            "larger than the service's {} limit",
            human_bytes(max)
        ));
        return outcome;
    }
    let presigned = limits.inline_max_bytes.is_some_and(|inline| bytes > inline);
    if presigned {
        outcome.via = "presigned";
    }
    // One key for every attempt: a retry after a lost answer replays the entry.
    let key = uuid::Uuid::new_v4().to_string();
    for attempt in 1..=ATTEMPTS {
        outcome.attempts = attempt;
        bar.set_position(0);
        let sent = if presigned {
            send_presigned(session, path, bytes, &key, bar).await
        } else {
            send_inline(session, path, bytes, &key, bar).await
        };
        let wait = match sent {
            Ok(entry) => {
                outcome.status = "accepted".to_owned();
                outcome.id = entry["id"].as_str().map(str::to_owned);
                return outcome;
            }
            Err(Failure::Refused(problem)) if !problem.is_transient() => {
                outcome.status = "refused".to_owned();
                outcome.id = problem.id.clone();
                outcome.reason = Some(problem.detail);
                return outcome;
            }
            Err(Failure::Refused(problem)) => {
                outcome.reason = Some(problem.to_string());
                problem.retry_after.unwrap_or_else(|| backoff(attempt))
            }
            Err(Failure::Local(error)) => {
                outcome.reason = Some(format!("{error:#}"));
                return outcome;
            }
            Err(Failure::Connection(error)) => {
                outcome.reason = Some(format!("{error:#}"));
                backoff(attempt)
            }
        };
        if attempt < ATTEMPTS {
            bar.set_message(format!("retrying in {:.0?}", wait));
            tokio::time::sleep(wait).await;
        }
    }
    outcome
}

/// 0.5 s, 1 s, 2 s … at most 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64 << attempt.min(4).saturating_sub(1))
}

enum Failure {
    /// The service answered with a problem.
    Refused(Problem),
    /// No answer: the connection failed or was cut.
    Connection(anyhow::Error),
    /// Here: the file could not be read, or we are not signed in.
    Local(anyhow::Error),
}

/// The file as a streamed body that moves the bar as it is read.
async fn body(path: &Path, bar: &ProgressBar) -> Result<reqwest::Body, Failure> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Failure::Local(e.into()))?;
    let bar = bar.clone();
    let chunks = futures::stream::try_unfold(file, move |mut file| {
        let bar = bar.clone();
        async move {
            let mut chunk = vec![0u8; CHUNK];
            let read = file.read(&mut chunk).await?;
            if read == 0 {
                return Ok::<_, std::io::Error>(None);
            }
            chunk.truncate(read);
            bar.inc(read as u64);
            Ok(Some((bytes::Bytes::from(chunk), file)))
        }
    });
    Ok(reqwest::Body::wrap_stream(chunks))
}

/// The bearer token for this attempt and the name the log records.
async fn token_and_name(session: &Session, path: &Path) -> Result<(String, String), Failure> {
    let token = session.bearer().await.map_err(Failure::Local)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((token, name))
}

async fn send_inline(
    session: &Session,
    path: &Path,
    bytes: u64,
    key: &str,
    bar: &ProgressBar,
) -> Result<Value, Failure> {
    let (token, name) = token_and_name(session, path).await?;
    let response = session
        .http()
        .post(session.url(&format!(
            "/v1/images?{}",
            serde_urlencoded::to_string([("filename", name.as_str())]).unwrap_or_default()
        )))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .header(reqwest::header::CONTENT_LENGTH, bytes)
        .body(body(path, bar).await?)
        .send()
        .await
        .map_err(|e| Failure::Connection(e.into()))?;
    answer(response).await
}

async fn send_presigned(
    session: &Session,
    path: &Path,
    bytes: u64,
    key: &str,
    bar: &ProgressBar,
) -> Result<Value, Failure> {
    let (token, name) = token_and_name(session, path).await?;
    let response = session
        .http()
        .post(session.url("/v1/uploads"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&serde_json::json!({"filename": name, "content_type": "application/octet-stream"}))
        .send()
        .await
        .map_err(|e| Failure::Connection(e.into()))?;
    let ticket = answer(response).await?;
    let upload = &ticket["upload"];
    let url = upload["url"].as_str().unwrap_or_default();
    let mut put = session
        .http()
        .put(url)
        .header(reqwest::header::CONTENT_LENGTH, bytes);
    for (name, value) in upload["headers"].as_object().into_iter().flatten() {
        put = put.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    let stored = put
        .body(body(path, bar).await?)
        .send()
        .await
        .map_err(|e| Failure::Connection(e.into()))?;
    if !stored.status().is_success() {
        let status = stored.status().as_u16();
        return Err(Failure::Refused(Problem {
            status: if status >= 500 { status } else { 502 },
            code: Some("storage_refused".to_owned()),
            detail: format!("object storage refused the upload (HTTP {status})"),
            retry_after: None,
            id: None,
        }));
    }
    Ok(ticket["entry"].clone())
}

async fn answer(response: reqwest::Response) -> Result<Value, Failure> {
    if response.status().is_success() {
        return response
            .json()
            .await
            .map_err(|e| Failure::Connection(e.into()));
    }
    Err(Failure::Refused(Problem::read(response).await))
}

/// Polls every accepted upload until it is done or failed, 16 entries at a
/// time. The pause between rounds starts short and doubles up to a second:
/// on a standalone server the last uploads are done moments after their
/// answer, while a deployment's queue may take a while.
async fn wait_for_processing(session: &Session, outcomes: &mut [Outcome], bars: &Bars) {
    use futures::StreamExt;
    let waiting = bars.waiting(outcomes.iter().filter(|o| o.status == "accepted").count());
    let mut pause = Duration::from_millis(25);
    loop {
        let open: Vec<&mut Outcome> = outcomes
            .iter_mut()
            .filter(|o| o.status == "accepted" && o.id.is_some())
            .collect();
        if open.is_empty() {
            break;
        }
        let polled: Vec<(&mut Outcome, Option<serde_json::Value>)> = futures::stream::iter(open)
            .map(|outcome| async move {
                let id = outcome.id.clone().unwrap_or_default();
                let entry = session.get_json(&format!("/v1/images/{id}")).await.ok();
                (outcome, entry)
            })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut still_open = 0;
        for (outcome, entry) in polled {
            match entry.as_ref().and_then(|e| e["status"].as_str()) {
                Some(status @ ("done" | "failed")) => {
                    outcome.status = status.to_owned();
                    outcome.reason = entry
                        .as_ref()
                        .and_then(|e| e["failure"]["message"].as_str())
                        .map(str::to_owned);
                    waiting.inc(1);
                }
                _ => still_open += 1,
            }
        }
        if still_open == 0 {
            break;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
    waiting.finish_and_clear();
}

fn reason_suffix(outcome: &Outcome) -> String {
    outcome
        .reason
        .as_deref()
        .filter(|_| outcome.status != "accepted" && outcome.status != "done")
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

fn report(session: &Session, outcomes: &[Outcome]) {
    if session.json {
        for outcome in outcomes {
            println!("{}", serde_json::to_string(outcome).unwrap_or_default());
        }
        return;
    }
    let width = outcomes
        .iter()
        .map(|o| o.file.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    println!(
        "{:<width$}  {:>9}  {:<8}  {:<36}  reason",
        "file", "size", "status", "id"
    );
    for o in outcomes {
        println!(
            "{:<width$}  {:>9}  {:<8}  {:<36}  {}",
            o.file,
            human_bytes(o.bytes),
            o.status,
            o.id.as_deref().unwrap_or("-"),
            reason_suffix(o).trim_start_matches(": ")
        );
    }
    let count = |status: &str| outcomes.iter().filter(|o| o.status == status).count();
    let total: u64 = outcomes.iter().map(|o| o.bytes).sum();
    println!(
        "{} files, {}: {} accepted, {} done, {} failed, {} refused, {} errors",
        outcomes.len(),
        human_bytes(total),
        count("accepted"),
        count("done"),
        count("failed"),
        count("refused"),
        count("error")
    );
}
