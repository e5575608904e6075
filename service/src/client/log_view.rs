//! `flipframe log`: the processing log as a table or JSON lines; with
//! `--follow`, new entries and status changes as they happen.

use super::Session;
use super::args::LogArgs;
use super::human_bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(session: Session, args: LogArgs) -> anyhow::Result<ExitCode> {
    let path = query(&args);
    let page = session.get_json(&path).await?;
    let mut entries: Vec<Value> = page["items"].as_array().cloned().unwrap_or_default();
    if !session.json {
        println!(
            "{:<36}  {:<10}  {:<12}  {:<20}  {:>9}  {:<9}  name / failure",
            "id", "status", "uploader", "uploaded", "size", "pixels"
        );
    }
    // Oldest first, so a followed log reads downwards.
    entries.reverse();
    let mut seen: HashMap<String, String> = HashMap::new();
    for entry in &entries {
        print_entry(&session, entry);
        seen.insert(id_of(entry), status_of(entry));
    }
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let page = match session.get_json(&path).await {
            Ok(page) => page,
            Err(error) => {
                eprintln!("flipframe: {error:#}; still following");
                continue;
            }
        };
        let mut items: Vec<Value> = page["items"].as_array().cloned().unwrap_or_default();
        items.reverse();
        for entry in items {
            let (id, status) = (id_of(&entry), status_of(&entry));
            if seen.get(&id) != Some(&status) {
                print_entry(&session, &entry);
                seen.insert(id, status);
            }
        }
    }
}

fn query(args: &LogArgs) -> String {
    let mut pairs = vec![("limit", args.limit.clamp(1, 100).to_string())];
    if let Some(status) = &args.status {
        pairs.push(("status", status.clone()));
    }
    if let Some(uploader) = &args.uploader {
        pairs.push(("uploader", uploader.clone()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("/v1/images?{query}")
}

fn id_of(entry: &Value) -> String {
    entry["id"].as_str().unwrap_or_default().to_owned()
}

fn status_of(entry: &Value) -> String {
    entry["status"].as_str().unwrap_or_default().to_owned()
}

fn print_entry(session: &Session, entry: &Value) {
    if session.json {
        println!("{entry}");
        return;
    }
    let original = &entry["original"];
    let size = original["bytes"]
        .as_u64()
        .map(human_bytes)
        .unwrap_or_else(|| "-".into());
    let pixels = match (original["width"].as_u64(), original["height"].as_u64()) {
        (Some(w), Some(h)) => format!("{w}×{h}"),
        _ => "-".into(),
    };
    let created = entry["created_at"].as_str().unwrap_or_default();
    let created = created.get(..19).unwrap_or(created).replace('T', " ");
    let mut name = entry["filename"].as_str().unwrap_or("-").to_owned();
    if let Some(code) = entry["failure"]["code"].as_str() {
        let message = entry["failure"]["message"].as_str().unwrap_or_default();
        name = format!("{name}  [{code}: {message}]");
    }
    println!(
        "{:<36}  {:<10}  {:<12}  {:<20}  {:>9}  {:<9}  {}",
        id_of(entry),
        status_of(entry),
        entry["uploader"]["username"].as_str().unwrap_or_default(),
        created,
        size,
        pixels,
        name
    );
}
