//! Progress for `upload`: a bar per file in flight and a total with rate
//! and ETA, on a terminal only.

use super::Session;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One bar per file in flight and a total, drawn only on a terminal.
#[derive(Clone)]
pub struct Bars {
    multi: Option<MultiProgress>,
    total: ProgressBar,
}

impl Bars {
    pub fn new(session: &Session, files: &[(PathBuf, u64)]) -> Self {
        let bytes: u64 = files.iter().map(|(_, b)| b).sum();
        if !session.interactive {
            return Self {
                multi: None,
                total: ProgressBar::hidden(),
            };
        }
        let multi = MultiProgress::new();
        let total = multi.add(ProgressBar::new(bytes));
        total.set_style(
            ProgressStyle::with_template(
                "{prefix:>5} [{bar:30.green/white}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        total.set_prefix("total");
        total.set_message(format!("0/{} files", files.len()));
        Self {
            multi: Some(multi),
            total,
        }
    }

    pub fn file(&self, path: &Path, bytes: u64) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let bar = multi.insert_before(&self.total, ProgressBar::new(bytes));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        bar.set_prefix(name);
        let total = self.total.clone();
        // The total follows every file's bytes.
        let tracked = bar.clone();
        tokio::spawn(async move {
            let mut last = 0;
            while !tracked.is_finished() {
                let now = tracked.position();
                total.inc(now.saturating_sub(last));
                last = now.max(last);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            total.inc(tracked.position().saturating_sub(last));
        });
        bar
    }

    /// Replaces the file's bar with a line saying how it ended.
    pub fn finish(&self, bar: &ProgressBar, line: String) {
        if let Some(multi) = &self.multi {
            bar.finish_and_clear();
            multi.remove(bar);
            let _ = multi.println(line);
        }
    }

    pub fn waiting(&self, count: usize) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let bar = multi.add(ProgressBar::new(count as u64));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>5} [{bar:30.yellow/white}] {pos}/{len} processed",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix("wait");
        bar
    }

    pub fn clear(&self) {
        self.total.finish_and_clear();
    }
}
