//! The validated configuration the application is built from.

use crate::admission::{AdmissionSettings, ConnectionLimits};
use crate::auth::ExternalTokens;
use crate::aws::AwsSettings;
use crate::cli::{Isolation, LogFormat, ProtectionArgs, ServeArgs};
use crate::pipeline::{Limits, TransformSpec};
use crate::sandbox::SandboxSettings;
use crate::webhooks::{Recipients, Retry};
use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Let another instance bind `listen` too (rolling restarts on one host).
    pub reuse_port: bool,
    /// Prometheus text at `/metrics`.
    pub metrics: bool,
    pub data_dir: PathBuf,
    pub storage: StorageLocation,
    pub ledger: LedgerLocation,
    pub spec: TransformSpec,
    pub limits: Limits,
    /// Concurrent transforms; 0 runs no background worker.
    pub workers: usize,
    pub processing_lease: Duration,
    pub auth: AuthMode,
    pub external_tokens: ExternalTokens,
    /// Where to read `external_tokens` from at start instead (SSM parameter name).
    pub external_tokens_parameter: Option<String>,
    /// Who hears when a tagged upload ends.
    pub webhooks: Recipients,
    /// Where to read `webhooks` from at start instead (SSM parameter name).
    pub webhooks_parameter: Option<String>,
    pub webhook_retry: Retry,
    pub log_format: LogFormat,
    pub aws: AwsSettings,
    /// Larger objects are answered with a redirect to a presigned URL instead
    /// of inline (Lambda responses cannot exceed 6 MB).
    pub max_inline_bytes: Option<u64>,
    /// Browser origins other than the service's own that may call the API
    /// (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Where transforms run on untrusted bytes.
    pub isolation: TransformIsolation,
    pub sandbox: SandboxSettings,
    pub admission: AdmissionSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformIsolation {
    /// Worker processes of this program (`PROGRAM sandbox-worker`).
    Workers(PathBuf),
    /// A blocking thread of this process: no deadline, no memory limit.
    InProcess,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    Files(PathBuf),
    S3 { bucket: String, prefix: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerLocation {
    Sqlite(PathBuf),
    DynamoDb { table: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Tokens from a Cognito user pool (or anything that issues the same shape).
    Cognito {
        issuer: String,
        client_ids: Vec<String>,
        jwks_url: String,
        min_refresh: Duration,
        /// The Hosted UI the console signs in through; without it the
        /// console says sign-in is not configured.
        hosted_ui: Option<HostedUi>,
        /// The user pool's API (InitiateAuth), for password sign-in by the CLI.
        user_pool_api: Option<String>,
    },
    /// The local dev issuer: a key in the data folder, for offline use only;
    /// its sign-in page issues access tokens that last `token_ttl`.
    Dev { token_ttl: Duration },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedUi {
    /// Base URL of `/oauth2/authorize`, `/oauth2/token` and `/logout`.
    pub base_url: String,
    pub client_id: String,
}

/// Exact origins (`https://host[:port]`), as browsers send them.
fn cors_origins(listed: &[String]) -> anyhow::Result<Vec<String>> {
    listed
        .iter()
        .map(|origin| origin.trim().trim_end_matches('/'))
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let url = url::Url::parse(origin)
                .with_context(|| format!("FLIPFRAME_CORS_ORIGINS: {origin} is not an origin"))?;
            let exact = url.origin().ascii_serialization();
            anyhow::ensure!(
                exact == origin && url.origin().is_tuple(),
                "FLIPFRAME_CORS_ORIGINS: {origin} is not an origin (scheme://host[:port], no path): {exact}?"
            );
            Ok(exact)
        })
        .collect()
}

/// A Cognito issuer (`https://cognito-idp.REGION.amazonaws.com/POOL`) is
/// served by the same host as its pool's API; other issuers have none.
fn user_pool_api_of(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    let host = url.host_str()?;
    (host.starts_with("cognito-idp.") && host.ends_with(".amazonaws.com"))
        .then(|| format!("https://{host}/"))
}

/// The dev sign-in page's access tokens last as long as Cognito's by default.
pub const DEV_TOKEN_TTL: Duration = Duration::from_secs(3600);

impl Config {
    /// Embedded defaults rooted at `data_dir`: files, SQLite, dev auth.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            reuse_port: false,
            metrics: true,
            storage: StorageLocation::Files(data_dir.join("objects")),
            ledger: LedgerLocation::Sqlite(data_dir.join("ledger.db")),
            data_dir,
            spec: TransformSpec::default(),
            limits: Limits::default(),
            workers: default_workers(),
            processing_lease: Duration::from_secs(60),
            auth: AuthMode::Dev {
                token_ttl: DEV_TOKEN_TTL,
            },
            external_tokens: ExternalTokens::default(),
            external_tokens_parameter: None,
            webhooks: Recipients::default(),
            webhooks_parameter: None,
            webhook_retry: Retry::default(),
            log_format: LogFormat::Text,
            aws: AwsSettings::default(),
            max_inline_bytes: None,
            cors_origins: Vec::new(),
            // A library user may not be the flipframe binary; `serve` is.
            isolation: TransformIsolation::InProcess,
            sandbox: SandboxSettings::default(),
            admission: AdmissionSettings::default(),
        }
    }

    pub fn from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let data_dir = args.data.data_dir;
        let storage = match &args.storage {
            Some(url) => StorageLocation::parse(url)?,
            None => StorageLocation::Files(data_dir.join("objects")),
        };
        let ledger = match &args.ledger {
            Some(url) => LedgerLocation::parse(url)?,
            None => LedgerLocation::Sqlite(data_dir.join("ledger.db")),
        };
        let auth = match args.auth.cognito_issuer {
            Some(issuer) => {
                let issuer = issuer.trim_end_matches('/').to_owned();
                let client_ids: Vec<String> = args
                    .auth
                    .cognito_client_ids
                    .iter()
                    .map(|id| id.trim().to_owned())
                    .filter(|id| !id.is_empty())
                    .collect();
                if client_ids.is_empty() {
                    bail!("FLIPFRAME_COGNITO_CLIENT_IDS must name at least one app client");
                }
                let jwks_url = args
                    .auth
                    .jwks_url
                    .unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
                let hosted_ui = args.auth.cognito_domain.map(|base| HostedUi {
                    base_url: base.trim_end_matches('/').to_owned(),
                    client_id: args
                        .auth
                        .console_client_id
                        .clone()
                        .unwrap_or_else(|| client_ids[0].clone()),
                });
                let user_pool_api = args
                    .auth
                    .cognito_api_url
                    .or_else(|| user_pool_api_of(&issuer));
                AuthMode::Cognito {
                    issuer,
                    client_ids,
                    jwks_url,
                    min_refresh: args.auth.jwks_min_refresh,
                    hosted_ui,
                    user_pool_api,
                }
            }
            None if running_on_lambda() => {
                bail!("dev auth is refused on AWS Lambda: set FLIPFRAME_COGNITO_ISSUER")
            }
            None => AuthMode::Dev {
                token_ttl: args.auth.dev_token_ttl,
            },
        };
        let external_tokens = ExternalTokens::parse(&args.auth.external_tokens)
            .context("FLIPFRAME_EXTERNAL_TOKENS")?;
        let webhooks = Recipients::parse(&args.auth.webhooks).context("FLIPFRAME_WEBHOOKS")?;
        Ok(Self {
            listen: args.listen,
            reuse_port: args.reuse_port,
            metrics: args.metrics,
            data_dir,
            storage,
            ledger,
            spec: TransformSpec {
                fit: args.fit,
                ..TransformSpec::default()
            },
            limits: Limits::from(&args.limits),
            workers: args.workers.unwrap_or_else(default_workers),
            processing_lease: args.processing_lease,
            auth,
            external_tokens,
            webhooks,
            webhooks_parameter: args
                .auth
                .webhooks_parameter
                .clone()
                .filter(|name| !name.is_empty()),
            webhook_retry: Retry {
                give_up_after: args.auth.webhook_retry_for,
                ..Retry::default()
            },
            external_tokens_parameter: args
                .auth
                .external_tokens_parameter
                .filter(|name| !name.is_empty()),
            log_format: args.log_format,
            aws: AwsSettings::from_env(),
            max_inline_bytes: args
                .max_inline_bytes
                .or(running_on_lambda().then_some(LAMBDA_MAX_INLINE_BYTES)),
            cors_origins: cors_origins(&args.cors_origins)?,
            isolation: match args.protection.transform_isolation {
                Isolation::Process => TransformIsolation::Workers(
                    std::env::current_exe().context("finding this program for its workers")?,
                ),
                Isolation::InProcess => TransformIsolation::InProcess,
            },
            sandbox: SandboxSettings {
                deadline: args.protection.transform_deadline,
                memory_limit: args.protection.transform_memory_mib << 20,
            },
            admission: admission_settings(&args.protection),
        })
    }
}

impl Config {
    /// Reads settings kept outside the process environment (the external
    /// token hashes in SSM), once, at start.
    pub async fn load_secrets(&mut self) -> anyhow::Result<()> {
        if let Some(name) = &self.external_tokens_parameter {
            let aws = crate::aws::sdk_config(&self.aws).await;
            let spec = aws
                .parameter(name)
                .await
                .with_context(|| format!("reading SSM parameter {name}"))?;
            self.external_tokens =
                ExternalTokens::parse(&spec).with_context(|| format!("SSM parameter {name}"))?;
        }
        if let Some(name) = &self.webhooks_parameter {
            let aws = crate::aws::sdk_config(&self.aws).await;
            let spec = aws
                .parameter(name)
                .await
                .with_context(|| format!("reading SSM parameter {name}"))?;
            self.webhooks =
                Recipients::parse(&spec).with_context(|| format!("SSM parameter {name}"))?;
        }
        let tokens: Vec<&str> = self.external_tokens.names().collect();
        if let Some(stray) = self.webhooks.names().find(|name| !tokens.contains(name)) {
            anyhow::bail!("webhook {stray:?} names no external token: each belongs to one");
        }
        Ok(())
    }
}

fn admission_settings(args: &ProtectionArgs) -> AdmissionSettings {
    let defaults = AdmissionSettings::default();
    AdmissionSettings {
        uploads_per_caller: args.uploads_per_caller,
        upload_memory: args.upload_memory_mib << 20,
        min_body_rate: args.min_body_rate,
        connections: ConnectionLimits {
            max_connections: args.max_connections,
            max_per_address: args.max_connections_per_address,
            idle_timeout: args.idle_timeout,
            drain_timeout: args.drain_timeout,
            ..defaults.connections
        },
        ..defaults
    }
}

/// Lambda answers at most 6 MB, and binary bodies travel base64-encoded (4/3).
pub const LAMBDA_MAX_INLINE_BYTES: u64 = 4_000_000;

/// Lambda's runtime sets this for every function; nothing else does.
pub fn running_on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

impl StorageLocation {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(Self::Files(non_empty_path(path, url)?));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                bail!("storage URL {url:?} names no bucket");
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        bail!("storage URL {url:?} must start with file:// or s3://")
    }
}

impl LedgerLocation {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(Self::Sqlite(non_empty_path(path, url)?));
        }
        if let Some(table) = url.strip_prefix("dynamodb://") {
            if table.is_empty() || table.contains('/') {
                bail!("ledger URL {url:?} must be dynamodb://TABLE");
            }
            return Ok(Self::DynamoDb {
                table: table.to_owned(),
            });
        }
        bail!("ledger URL {url:?} must start with sqlite:// or dynamodb://")
    }
}

fn non_empty_path(path: &str, url: &str) -> anyhow::Result<PathBuf> {
    if path.is_empty() {
        bail!("{url:?} names no path");
    }
    Ok(Path::new(path).to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            StorageLocation::parse("s3://bucket/some/prefix/").unwrap(),
            StorageLocation::S3 {
                bucket: "bucket".into(),
                prefix: "some/prefix".into()
            }
        );
        assert_eq!(
            StorageLocation::parse("file://./data").unwrap(),
            StorageLocation::Files("./data".into())
        );
        assert!(StorageLocation::parse("ftp://x").is_err());
        assert!(StorageLocation::parse("s3://").is_err());
        assert_eq!(
            LedgerLocation::parse("dynamodb://log").unwrap(),
            LedgerLocation::DynamoDb {
                table: "log".into()
            }
        );
        assert!(LedgerLocation::parse("sqlite://").is_err());
    }
}
