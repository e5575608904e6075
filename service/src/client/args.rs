//! The client commands' arguments (the server's stay in `cli`).

use clap::Args;
use std::path::PathBuf;

/// Where and as whom: every client command takes these.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The service's address [default: the profile's, else http://127.0.0.1:8080].
    #[arg(long, env = "FLIPFRAME_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    /// Which saved sign-in to use.
    #[arg(
        long,
        env = "FLIPFRAME_PROFILE",
        default_value = "default",
        global = true
    )]
    pub profile: String,
    /// An external system's fixed token, instead of a signed-in profile.
    #[arg(long, env = "FLIPFRAME_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Machine-readable output: JSON (one object per line).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Sign in as this user on a dev issuer's "sign in as" page, without a browser.
    #[arg(long, conflicts_with = "username")]
    pub user: Option<String>,
    /// Sign in to a Cognito user pool with this username and a password
    /// (USER_PASSWORD_AUTH), without a browser.
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from the first line of stdin (else FLIPFRAME_PASSWORD,
    /// else a prompt on the terminal).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Port of the local address the sign-in page sends the browser back to
    /// (register http://localhost:PORT/callback with Cognito).
    #[arg(long, default_value_t = 53682)]
    pub callback_port: u16,
}

#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Files and folders to upload.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Wait until every accepted upload is done or failed.
    #[arg(long)]
    pub wait: bool,
    /// Files sent at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Walk folders all the way down (default: their files only).
    #[arg(long, short)]
    pub recursive: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Only entries with this status (pending, processing, done, failed).
    #[arg(long)]
    pub status: Option<String>,
    /// Only entries uploaded by this username.
    #[arg(long)]
    pub uploader: Option<String>,
    /// How many entries, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Keep printing new entries and status changes.
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// The entry's id.
    pub id: String,
    /// The original instead of the 1280×720 version.
    #[arg(long)]
    pub original: bool,
    /// Where to write it [default: the file name the log records, or ID.jpg].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}
