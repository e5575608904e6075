//! A JWKS cache: keys are fetched once and reused; an unknown `kid` triggers
//! one refetch, at most once per `min_refresh`, so forged kids cannot hammer
//! the issuer; a failed fetch keeps the keys already known.

use crate::telemetry::metrics;
use async_trait::async_trait;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[async_trait]
pub trait JwksSource: Send + Sync + std::fmt::Debug {
    async fn fetch(&self) -> anyhow::Result<JwkSet>;
}

/// The issuer's JWKS over HTTP(S).
#[derive(Debug)]
pub struct HttpJwks {
    url: String,
    client: reqwest::Client,
}

impl HttpJwks {
    pub fn new(url: impl Into<String>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            url: url.into(),
            client,
        })
    }
}

#[async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json().await?)
    }
}

/// Keys known in-process, such as the dev issuer's own.
#[derive(Debug)]
pub struct StaticJwks(pub JwkSet);

#[async_trait]
impl JwksSource for StaticJwks {
    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        Ok(self.0.clone())
    }
}

type Keys = Arc<HashMap<String, DecodingKey>>;

#[derive(Debug)]
pub struct JwksCache {
    source: Box<dyn JwksSource>,
    keys: RwLock<Keys>,
    /// Held while fetching, so concurrent misses share one fetch.
    last_fetch: Mutex<Option<Instant>>,
    min_refresh: Duration,
    fetches: AtomicU64,
}

impl JwksCache {
    pub fn new(source: Box<dyn JwksSource>, min_refresh: Duration) -> Self {
        Self {
            source,
            keys: RwLock::new(Arc::default()),
            last_fetch: Mutex::new(None),
            min_refresh,
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the source has been asked, for tests and metrics.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The verification key for `kid`, refetching the set once if unknown.
    pub async fn key(&self, kid: &str) -> Option<DecodingKey> {
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        self.refresh().await;
        self.cached(kid)
    }

    /// Whether the last fetched set still publishes `kid`.
    pub fn knows(&self, kid: &str) -> bool {
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.contains_key(kid)
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.get(kid).cloned()
    }

    /// Fetches the key set unless another fetch happened within `min_refresh`.
    pub async fn refresh(&self) {
        let mut last_fetch = self.last_fetch.lock().await;
        if last_fetch.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return;
        }
        *last_fetch = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.source.fetch().await {
            Ok(set) => {
                metrics::jwks_fetched(true);
                let keys = usable_keys(&set);
                tracing::info!(keys = keys.len(), "fetched the issuer's JWKS");
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
            }
            Err(error) => {
                metrics::jwks_fetched(false);
                tracing::warn!(error = %error, "JWKS fetch failed; keeping the keys already known");
            }
        }
    }
}

/// RSA signing keys that declare no algorithm other than RS256.
fn usable_keys(set: &JwkSet) -> HashMap<String, DecodingKey> {
    set.keys
        .iter()
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| {
            jwk.common
                .key_algorithm
                .is_none_or(|alg| alg == KeyAlgorithm::RS256)
        })
        .filter(|jwk| {
            jwk.common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == PublicKeyUse::Signature)
        })
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
        })
        .collect()
}
