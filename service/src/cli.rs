//! Command line: every setting is a flag with an `FLIPFRAME_*` environment
//! variable behind it; flags win over the environment, which wins over the
//! embedded defaults.

use crate::client::{GetArgs, LogArgs, LoginArgs, UploadArgs};
use crate::pipeline::{Fit, Limits};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "flipframe",
    version = crate::version::SHORT,
    about = "Photos in, 1280×720 upside-down versions out."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (what runs when no command is given).
    Serve(Box<ServeArgs>),
    /// Run the pipeline on a file exactly as the service would.
    Transform(TransformArgs),
    /// Create the bucket and the table the configuration names, when missing.
    Setup(Box<ServeArgs>),
    /// Run as an AWS Lambda function (what runs when Lambda starts the binary).
    Lambda(Box<LambdaArgs>),
    /// Make tokens: external-system tokens and their hashes, dev sign-in tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Sign in to a flipframe service and keep the sign-in in a profile.
    Login(LoginArgs),
    /// Upload files and folders, with progress; `--wait` until processed.
    Upload(UploadArgs),
    /// Show the processing log; `--follow` keeps printing changes.
    Log(LogArgs),
    /// Download an upload's 1280×720 version (or `--original`).
    Get(GetArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Decode images for a running server (started by it, never by hand).
    #[command(hide = true)]
    SandboxWorker(SandboxWorkerArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SandboxWorkerArgs {
    /// Address space limit of this process, in bytes.
    #[arg(long)]
    pub memory_limit: u64,
    /// Largest image the server sends.
    #[arg(long)]
    pub max_payload: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Isolation {
    /// Each transform in a worker process: deadline, memory limit, crash isolation.
    Process,
    /// Transforms on a thread of the server: no deadline (for debugging).
    InProcess,
}

/// Where transforms run and what bounds them; the admission limits.
#[derive(Debug, Clone, Args)]
pub struct ProtectionArgs {
    /// Where transforms run.
    #[arg(long, env = "FLIPFRAME_TRANSFORM_ISOLATION", value_enum, default_value_t = Isolation::Process)]
    pub transform_isolation: Isolation,
    /// Longest one transform may take before its worker is killed and the upload fails.
    #[arg(long, env = "FLIPFRAME_TRANSFORM_DEADLINE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub transform_deadline: Duration,
    /// Address space of each transform worker, in MiB.
    #[arg(long, env = "FLIPFRAME_TRANSFORM_MEMORY_MIB", default_value_t = 1024)]
    pub transform_memory_mib: u64,
    /// Uploads one caller may have in flight; past it, 429 + Retry-After.
    #[arg(long, env = "FLIPFRAME_UPLOADS_PER_CALLER", default_value_t = 8)]
    pub uploads_per_caller: usize,
    /// Upload bytes held in memory at once, in MiB.
    #[arg(long, env = "FLIPFRAME_UPLOAD_MEMORY_MIB", default_value_t = 256)]
    pub upload_memory_mib: u64,
    /// Slowest average rate an upload body may arrive at (after a 10 s grace), bytes/s.
    #[arg(long, env = "FLIPFRAME_MIN_BODY_RATE", default_value_t = 16 << 10)]
    pub min_body_rate: u64,
    /// Open connections in all.
    #[arg(long, env = "FLIPFRAME_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Open connections from one client address.
    #[arg(
        long,
        env = "FLIPFRAME_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 1024
    )]
    pub max_connections_per_address: usize,
    /// A connection with no request in flight and no byte moving is closed after this.
    #[arg(long, env = "FLIPFRAME_IDLE_TIMEOUT", default_value = "15s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,
    /// On SIGTERM, how long requests in flight, then transforms in flight, may take to finish.
    #[arg(long, env = "FLIPFRAME_DRAIN_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FLIPFRAME_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Let a new instance bind the same address while this one drains
    /// (SO_REUSEPORT): rolling restarts on one host.
    #[arg(long, env = "FLIPFRAME_REUSE_PORT")]
    pub reuse_port: bool,
    /// Serve Prometheus metrics at `/metrics` on this listener (`off` hides
    /// them; on Lambda they are CloudWatch EMF log lines instead).
    #[arg(long, env = "FLIPFRAME_METRICS", default_value = "on", value_parser = clap::builder::BoolishValueParser::new())]
    pub metrics: bool,
    #[command(flatten)]
    pub data: DataArgs,
    /// Where objects live: `file://PATH` or `s3://BUCKET/PREFIX` [default: file://DATA_DIR/objects].
    #[arg(long, env = "FLIPFRAME_STORAGE")]
    pub storage: Option<String>,
    /// Where the processing log lives: `sqlite://PATH` or `dynamodb://TABLE` [default: sqlite://DATA_DIR/ledger.db].
    #[arg(long, env = "FLIPFRAME_LEDGER")]
    pub ledger: Option<String>,
    /// How the image is fitted into 1280×720.
    #[arg(long, env = "FLIPFRAME_FIT", value_enum, default_value_t = Fit::Cover)]
    pub fit: Fit,
    #[command(flatten)]
    pub limits: LimitsArgs,
    /// Images transformed at once [default: the number of CPUs]; 0 runs no worker.
    #[arg(long, env = "FLIPFRAME_WORKERS")]
    pub workers: Option<usize>,
    /// How long a worker owns an entry it is processing before another may retry it.
    #[arg(long, env = "FLIPFRAME_PROCESSING_LEASE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub processing_lease: Duration,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Objects larger than this are answered with a 307 to a presigned URL [default: 4000000 on Lambda, unlimited elsewhere].
    #[arg(long, env = "FLIPFRAME_MAX_INLINE_BYTES")]
    pub max_inline_bytes: Option<u64>,
    /// Browser origins (comma-separated, `https://app.example.com`) that may
    /// call the API from their pages (CORS) [default: none].
    #[arg(long, env = "FLIPFRAME_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Log format.
    #[arg(long, env = "FLIPFRAME_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub protection: ProtectionArgs,
}

#[derive(Debug, Clone, Args)]
pub struct LambdaArgs {
    /// Which function this is: the HTTP API, or the S3-event processor.
    #[arg(long, env = "FLIPFRAME_LAMBDA_ROLE", value_enum, default_value_t = LambdaRole::Api)]
    pub role: LambdaRole,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LambdaRole {
    /// API Gateway HTTP API (payload v2) events → the axum router.
    Api,
    /// S3 `ObjectCreated` events on `originals/` → `process(id)`.
    Processor,
}

#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Folder for embedded-default data: objects, the SQLite log, dev keys.
    #[arg(long, env = "FLIPFRAME_DATA_DIR", default_value = "flipframe-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct LimitsArgs {
    /// Largest accepted upload body, in bytes.
    #[arg(long, env = "FLIPFRAME_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: u64,
    /// Largest accepted width or height, in pixels.
    #[arg(long, env = "FLIPFRAME_MAX_SIDE", default_value_t = Limits::default().max_side)]
    pub max_side: u32,
    /// Largest accepted pixel count (width × height).
    #[arg(long, env = "FLIPFRAME_MAX_PIXELS", default_value_t = Limits::default().max_pixels)]
    pub max_pixels: u64,
    /// Largest accepted number of animation frames.
    #[arg(long, env = "FLIPFRAME_MAX_FRAMES", default_value_t = Limits::default().max_frames)]
    pub max_frames: u32,
    /// Largest decoding work a JPEG's scans may ask for (blocks walked, refinements weighted by band).
    #[arg(long, env = "FLIPFRAME_MAX_DECODE_WORK", default_value_t = Limits::default().max_decode_work)]
    pub max_decode_work: u64,
}

impl From<&LimitsArgs> for Limits {
    fn from(args: &LimitsArgs) -> Self {
        Self {
            max_body_bytes: args.max_body_bytes,
            max_side: args.max_side,
            max_pixels: args.max_pixels,
            max_frames: args.max_frames,
            max_decode_work: args.max_decode_work,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Cognito user pool issuer URL; without it the local dev issuer is used.
    #[arg(long, env = "FLIPFRAME_COGNITO_ISSUER")]
    pub cognito_issuer: Option<String>,
    /// App client ids whose tokens are accepted, comma-separated.
    #[arg(long, env = "FLIPFRAME_COGNITO_CLIENT_IDS", value_delimiter = ',')]
    pub cognito_client_ids: Vec<String>,
    /// Where the issuer's JWKS is served [default: ISSUER/.well-known/jwks.json].
    #[arg(long, env = "FLIPFRAME_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// Shortest time between two JWKS fetches triggered by unknown key ids.
    #[arg(long, env = "FLIPFRAME_JWKS_MIN_REFRESH", default_value = "30s", value_parser = humantime::parse_duration)]
    pub jwks_min_refresh: Duration,
    /// External-system tokens as `name:sha256hex,...` (hashes only; see `flipframe token hash`).
    #[arg(
        long,
        env = "FLIPFRAME_EXTERNAL_TOKENS",
        hide_env_values = true,
        default_value = ""
    )]
    pub external_tokens: String,
    /// An SSM parameter (SecureString) holding the external tokens in that form, read at start.
    #[arg(long, env = "FLIPFRAME_EXTERNAL_TOKENS_PARAMETER")]
    pub external_tokens_parameter: Option<String>,
    /// Completion webhooks as `NAME=whsec_SECRET@URL,...`, NAME an external
    /// token's; uploads that name it in `?notify=` are told when they end.
    #[arg(
        long,
        env = "FLIPFRAME_WEBHOOKS",
        hide_env_values = true,
        default_value = ""
    )]
    pub webhooks: String,
    /// An SSM parameter (SecureString) holding the webhooks in that form, read at start.
    #[arg(long, env = "FLIPFRAME_WEBHOOKS_PARAMETER")]
    pub webhooks_parameter: Option<String>,
    /// How long an undelivered webhook event is retried (exponential backoff).
    #[arg(long, env = "FLIPFRAME_WEBHOOK_RETRY_FOR", default_value = "24h", value_parser = humantime::parse_duration)]
    pub webhook_retry_for: Duration,
    /// The Cognito Hosted UI's base URL (`https://DOMAIN.auth.REGION.amazoncognito.com`), where the console signs in.
    #[arg(long, env = "FLIPFRAME_COGNITO_DOMAIN")]
    pub cognito_domain: Option<String>,
    /// The app client the console signs in with [default: the first of FLIPFRAME_COGNITO_CLIENT_IDS].
    #[arg(long, env = "FLIPFRAME_CONSOLE_CLIENT_ID")]
    pub console_client_id: Option<String>,
    /// The user pool's API, where `flipframe login --username` signs in with a
    /// password [default: `https://cognito-idp.REGION.amazonaws.com/` from the issuer].
    #[arg(long, env = "FLIPFRAME_COGNITO_API_URL")]
    pub cognito_api_url: Option<String>,
    /// Lifetime of the access tokens the dev sign-in page issues.
    #[arg(long, env = "FLIPFRAME_DEV_TOKEN_TTL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub dev_token_ttl: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct TransformArgs {
    /// The image to transform.
    pub input: PathBuf,
    /// Where to write the result (JPEG, or PNG when the image has transparency).
    pub output: PathBuf,
    #[arg(long, env = "FLIPFRAME_FIT", value_enum, default_value_t = Fit::Cover)]
    pub fit: Fit,
    /// After the first transform, run it this many times more in the same
    /// process and print their median too: the warm figure, as the server sees it.
    #[arg(long, default_value_t = 0)]
    pub repeat: usize,
    #[command(flatten)]
    pub limits: LimitsArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print the SHA-256 hash of a token read from standard input.
    Hash,
    /// Print a fresh random external token and its hash.
    New {
        /// The name the token will be configured under.
        #[arg(long, default_value = "partner")]
        name: String,
    },
    /// Print a sign-in token from the local dev issuer (dev auth mode only).
    Dev {
        /// Username the token is for.
        #[arg(long)]
        user: String,
        /// Optional e-mail address claim.
        #[arg(long)]
        email: Option<String>,
        /// How long the token stays valid.
        #[arg(long, default_value = "12h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        #[command(flatten)]
        data: DataArgs,
    },
}
