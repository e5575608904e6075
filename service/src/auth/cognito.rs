//! Verifies Cognito access and ID tokens: RS256 only, known `kid`, issuer,
//! time claims with a small leeway, and the app client the token was made for.

use super::{AuthError, JwksCache};
use crate::ledger::Uploader;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use quick_cache::sync::Cache;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LEEWAY_SECONDS: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    Access,
    Id,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    token_use: TokenUse,
    client_id: Option<String>,
    aud: Option<Audience>,
    iat: Option<i64>,
    #[serde(rename = "cognito:username")]
    cognito_username: Option<String>,
    username: Option<String>,
    email: Option<String>,
}

/// Verified tokens remembered, so a client reusing its token costs a hash
/// lookup instead of an RSA verification on every request.
const REMEMBERED_TOKENS: usize = 10_000;
/// A remembered token is verified again after this long, whatever its expiry.
const REMEMBER_FOR: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
struct Verified {
    uploader: Uploader,
    kid: String,
    expires: i64,
    at: Instant,
}

#[derive(Debug)]
pub struct JwtVerifier {
    issuer: String,
    client_ids: Vec<String>,
    keys: Arc<JwksCache>,
    /// By SHA-256 of the token; only successes are remembered.
    verified: Cache<[u8; 32], Verified>,
}

impl JwtVerifier {
    pub fn new(issuer: String, client_ids: Vec<String>, keys: Arc<JwksCache>) -> Self {
        Self {
            issuer,
            client_ids,
            keys,
            verified: Cache::new(REMEMBERED_TOKENS),
        }
    }

    pub fn keys(&self) -> &Arc<JwksCache> {
        &self.keys
    }

    pub async fn verify(&self, token: &str) -> Result<Uploader, AuthError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(verified) = self.verified.get(&digest) {
            // Still unexpired, recently checked, and its key still published.
            let now = chrono::Utc::now().timestamp();
            if now <= verified.expires + LEEWAY_SECONDS as i64
                && verified.at.elapsed() < REMEMBER_FOR
                && self.keys.knows(&verified.kid)
            {
                return Ok(verified.uploader);
            }
            self.verified.remove(&digest);
        }
        let (uploader, kid, expires) = self.verify_signed(token).await?;
        let verified = Verified {
            uploader: uploader.clone(),
            kid,
            expires,
            at: Instant::now(),
        };
        self.verified.insert(digest, verified);
        Ok(uploader)
    }

    /// The full check: header, key, signature, claims, client.
    async fn verify_signed(&self, token: &str) -> Result<(Uploader, String, i64), AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Invalid("malformed JWT"))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("algorithm is not RS256"));
        }
        let kid = header.kid.ok_or(AuthError::Invalid("JWT has no kid"))?;
        let key = self
            .keys
            .key(&kid)
            .await
            .ok_or(AuthError::Invalid("unknown signing key"))?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        // Cognito access tokens carry no `aud`; the client is checked below.
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = decode::<Claims>(token, &key, &validation)
            .map_err(|_| AuthError::Invalid("signature or claims rejected"))?
            .claims;

        let now = chrono::Utc::now().timestamp();
        if claims
            .iat
            .is_some_and(|iat| iat > now + LEEWAY_SECONDS as i64)
        {
            return Err(AuthError::Invalid("issued in the future"));
        }
        let client_ok = match claims.token_use {
            TokenUse::Access => claims
                .client_id
                .as_ref()
                .is_some_and(|id| self.client_ids.contains(id)),
            TokenUse::Id => match &claims.aud {
                Some(Audience::One(aud)) => self.client_ids.contains(aud),
                Some(Audience::Many(auds)) => auds.iter().any(|a| self.client_ids.contains(a)),
                None => false,
            },
        };
        if !client_ok {
            return Err(AuthError::Invalid("token was made for another client"));
        }
        let username = claims
            .cognito_username
            .or(claims.username)
            .unwrap_or_else(|| claims.sub.clone());
        let uploader = Uploader {
            sub: claims.sub,
            username,
            email: claims.email,
        };
        Ok((uploader, kid, claims.exp))
    }
}
