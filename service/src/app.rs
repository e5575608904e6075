//! Builds the application from a `Config`: backends, authentication, the
//! background worker and a bound listener, so tests can run it on port 0.

use crate::admission::{self, Admission};
use crate::api::{self, AppState, DevIssuerRoutes};
use crate::auth::{
    Authenticator, DEV_CLIENT_ID, DEV_ISSUER, DevIssuer, HttpJwks, JwksCache, JwtVerifier,
    StaticJwks,
};
use crate::aws;
use crate::config::{
    AuthMode, Config, LedgerLocation, StorageLocation, TransformIsolation, running_on_lambda,
};
use crate::console::ConsoleSettings;
use crate::jobs::{ExternalTrigger, Processor, SharedQueue, Worker};
use crate::ledger::{CachedLedger, DynamoLedger, SharedLedger, SqliteLedger};
use crate::sandbox::{InProcess, Metered, SharedTransformer, WorkerPool};
use crate::signin::{SignIn, SignInSettings};
use crate::storage::{CachedStore, FileStore, S3Store, SharedStore};
use crate::webhooks::{Notifier, Retry};
use anyhow::Context;
use axum::Router;
use axum::http::HeaderValue;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Transformed versions kept in memory for downloads (~400 of them).
const HOT_OBJECT_BYTES: u64 = 64 << 20;
/// Finished log entries kept in memory for downloads (~1 KB each).
const HOT_ENTRIES: usize = 20_000;
/// Webhook attempts within one processor invocation: 1 s, 2 s, then give up.
const LAMBDA_RETRY: Retry = Retry {
    first_gap: Duration::from_secs(1),
    max_gap: Duration::from_secs(2),
    give_up_after: Duration::from_secs(4),
};

pub struct Application {
    listener: TcpListener,
    connections: admission::ConnectionLimits,
    router: Router,
    state: AppState,
    stop_worker: watch::Sender<bool>,
    /// Ends once the worker has drained (or there is none).
    worker: Option<tokio::task::JoinHandle<()>>,
}

/// The storage and log backends a configuration names.
#[derive(Debug, Clone)]
pub struct Backends {
    pub store: SharedStore,
    pub ledger: SharedLedger,
    /// Per-caller bounds, the CPU share and the upload memory budget.
    pub admission: Arc<Admission>,
    /// Where the pipeline runs on uploaded bytes.
    pub transformer: SharedTransformer,
    /// Who hears when a tagged upload ends.
    pub notifier: Notifier,
}

impl Backends {
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let needs_aws = matches!(config.storage, StorageLocation::S3 { .. })
            || matches!(config.ledger, LedgerLocation::DynamoDb { .. });
        let sdk = if needs_aws {
            Some(aws::sdk_config(&config.aws).await)
        } else {
            None
        };
        let store: SharedStore = match &config.storage {
            StorageLocation::Files(root) => Arc::new(
                FileStore::open(root)
                    .with_context(|| format!("object folder {}", root.display()))?,
            ),
            StorageLocation::S3 { bucket, prefix } => {
                let sdk = sdk.as_ref().expect("loaded for S3");
                Arc::new(S3Store::new(sdk.s3_client(), bucket, prefix))
            }
        };
        let ledger: SharedLedger = match &config.ledger {
            LedgerLocation::Sqlite(path) => Arc::new(
                SqliteLedger::open(path)
                    .with_context(|| format!("SQLite log {}", path.display()))?,
            ),
            LedgerLocation::DynamoDb { table } => {
                let sdk = sdk.as_ref().expect("loaded for DynamoDB");
                Arc::new(DynamoLedger::new(sdk.dynamodb_client(), table))
            }
        };
        // Hot downloads are answered from memory in front of either backend.
        let store = Arc::new(CachedStore::new(store, HOT_OBJECT_BYTES));
        let ledger: SharedLedger = Arc::new(CachedLedger::new(ledger, HOT_ENTRIES));
        let admission = Arc::new(Admission::new(
            config.admission,
            config.limits.max_body_bytes,
        ));
        let transformer: SharedTransformer = match &config.isolation {
            TransformIsolation::Workers(program) => {
                let pool = WorkerPool::new(
                    program.clone(),
                    config.sandbox,
                    config.limits.max_body_bytes,
                );
                pool.check().await?;
                Arc::new(pool)
            }
            TransformIsolation::InProcess => Arc::new(InProcess),
        };
        let transformer: SharedTransformer = Arc::new(Metered(transformer));
        let notifier = if running_on_lambda() {
            // Nothing runs between invocations: deliver within the processor's.
            Notifier::inline(config.webhooks.clone(), Arc::clone(&ledger), LAMBDA_RETRY)
        } else {
            Notifier::background(
                config.webhooks.clone(),
                Arc::clone(&ledger),
                config.webhook_retry,
            )
        };
        Ok(Self {
            store,
            ledger,
            admission,
            transformer,
            notifier,
        })
    }

    pub fn processor(&self, config: &Config) -> Processor {
        Processor {
            store: Arc::clone(&self.store),
            ledger: Arc::clone(&self.ledger),
            spec: config.spec,
            limits: config.limits,
            lease: config.processing_lease,
            admission: Arc::clone(&self.admission),
            transformer: Arc::clone(&self.transformer),
            notifier: self.notifier.clone(),
        }
    }

    /// The router's state; `jobs` is how new uploads reach processing.
    pub fn app_state(&self, config: &Config, jobs: SharedQueue) -> anyhow::Result<AppState> {
        let (auth, dev_issuer) = build_auth(config)?;
        Ok(AppState {
            store: Arc::clone(&self.store),
            ledger: Arc::clone(&self.ledger),
            auth,
            jobs,
            limits: config.limits,
            spec: config.spec,
            max_inline_bytes: config.max_inline_bytes,
            admission: Arc::clone(&self.admission),
            transformer: Arc::clone(&self.transformer),
            dev_issuer,
            console: Arc::new(ConsoleSettings::from_config(config)),
            cors_origins: config
                .cors_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok())
                .collect(),
            readiness: Arc::default(),
            notifier: self.notifier.clone(),
            metrics: config
                .metrics
                .then(crate::telemetry::metrics::prometheus)
                .flatten(),
        })
    }
}

/// Creates the bucket and the table the configuration names when missing;
/// says what it did, one line each.
pub async fn create_missing_resources(config: &Config) -> anyhow::Result<Vec<String>> {
    let mut report = Vec::new();
    match &config.storage {
        StorageLocation::S3 { bucket, prefix } => {
            let sdk = aws::sdk_config(&config.aws).await;
            let store = S3Store::new(sdk.s3_client(), bucket, prefix);
            let created = store.create_bucket_if_missing().await?;
            report.push(format!(
                "bucket {bucket}: {}",
                if created { "created" } else { "exists" }
            ));
        }
        StorageLocation::Files(root) => {
            FileStore::open(root)?;
            report.push(format!("object folder {}: ready", root.display()));
        }
    }
    match &config.ledger {
        LedgerLocation::DynamoDb { table } => {
            let sdk = aws::sdk_config(&config.aws).await;
            let ledger = DynamoLedger::new(sdk.dynamodb_client(), table);
            let created = ledger.create_table_if_missing().await?;
            report.push(format!(
                "table {table}: {}",
                if created { "created" } else { "exists" }
            ));
        }
        LedgerLocation::Sqlite(path) => {
            SqliteLedger::open(path)?;
            report.push(format!("SQLite log {}: ready", path.display()));
        }
    }
    Ok(report)
}

impl Application {
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        config.load_secrets().await?;
        let backends = Backends::open(&config).await?;
        let (stop_worker, worker_stopped) = watch::channel(false);
        let drain = config.admission.connections.drain_timeout;
        let (jobs, worker): (SharedQueue, _) = if config.workers == 0 {
            tracing::info!("no background worker (workers = 0)");
            (Arc::new(ExternalTrigger), None)
        } else {
            let worker = Worker::new(backends.processor(&config), config.workers);
            let (queue, task) = worker.spawn(worker_stopped, drain);
            (Arc::new(queue), Some(task))
        };
        let state = backends.app_state(&config, jobs)?;
        tokio::spawn(api::release_idle_buffers());
        let listener = bind(config.listen, config.reuse_port)
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Self {
            router: api::router(state.clone()),
            connections: config.admission.connections,
            listener,
            state,
            stop_worker,
            worker,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT or SIGTERM, finishing requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(address = %self.local_addr(), "flipframe listening");
        let readiness = Arc::clone(&self.state.readiness);
        let stop = async move {
            stop.await;
            readiness.start_draining();
        };
        let served =
            admission::connections::serve(self.listener, self.router, self.connections, stop).await;
        // Requests have drained; the worker gets its own drain time for the
        // transforms they handed it.
        let _ = self.stop_worker.send(true);
        if let Some(worker) = self.worker {
            let _ = worker.await;
        }
        tracing::info!("stopped");
        served
    }
}

/// The listening socket. With `reuse_port`, a new instance can bind the same
/// address while the old one drains (a rolling restart on one host: with
/// `net.ipv4.tcp_migrate_req=1` the kernel hands connections queued at the
/// old socket to the new one instead of resetting them).
fn bind(address: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(reuse_port)?;
    socket.bind(address)?;
    socket.listen(1024)
}

fn build_auth(config: &Config) -> anyhow::Result<(Arc<Authenticator>, Option<DevIssuerRoutes>)> {
    let (verifier, dev_issuer) = match &config.auth {
        AuthMode::Cognito {
            issuer,
            client_ids,
            jwks_url,
            min_refresh,
            ..
        } => {
            tracing::info!(%issuer, %jwks_url, "verifying Cognito tokens");
            let keys = JwksCache::new(Box::new(HttpJwks::new(jwks_url.clone())?), *min_refresh);
            (
                JwtVerifier::new(issuer.clone(), client_ids.clone(), Arc::new(keys)),
                None,
            )
        }
        AuthMode::Dev { token_ttl } => {
            let issuer = DevIssuer::load_or_create(&config.data_dir)?;
            tracing::warn!(
                key = %DevIssuer::key_path(&config.data_dir).display(),
                "DEV AUTH: accepting tokens from the local dev issuer. Never expose this \
                 instance; set FLIPFRAME_COGNITO_ISSUER for real sign-in. \
                 Get a token with `flipframe token dev --user alice`."
            );
            let jwks = issuer.jwks();
            let published = bytes::Bytes::from(serde_json::to_vec(&jwks)?);
            let keys = JwksCache::new(Box::new(StaticJwks(jwks)), Duration::ZERO);
            let verifier = JwtVerifier::new(
                DEV_ISSUER.to_owned(),
                vec![DEV_CLIENT_ID.to_owned()],
                Arc::new(keys),
            );
            let sign_in = SignIn::new(
                Box::new(issuer),
                SignInSettings {
                    issuer: DEV_ISSUER.to_owned(),
                    client_ids: vec![DEV_CLIENT_ID.to_owned()],
                    token_ttl: *token_ttl,
                    jwks_path: "/dev/jwks.json".to_owned(),
                    discovery_path: "/.well-known/openid-configuration".to_owned(),
                    title: "flipframe dev sign-in".to_owned(),
                },
            );
            let routes = DevIssuerRoutes {
                jwks: published,
                sign_in: Arc::new(sign_in),
            };
            (verifier, Some(routes))
        }
    };
    // Warm the key cache so the first request does not wait for the issuer.
    let keys = Arc::clone(verifier.keys());
    tokio::spawn(async move { keys.refresh().await });
    if !config.external_tokens.is_empty() {
        tracing::info!(tokens = ?config.external_tokens, "external tokens configured");
    }
    let authenticator = Authenticator::new(verifier, config.external_tokens.clone());
    Ok((Arc::new(authenticator), dev_issuer))
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
