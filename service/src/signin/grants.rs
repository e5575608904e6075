//! Authorization codes bound to a PKCE challenge, and refresh tokens: the
//! state behind `/oauth2/token`. Both are random, single-purpose and kept
//! only as SHA-256 digests, so a leaked memory dump holds nothing usable.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// A code must be redeemed this soon after sign-in (Cognito: 5 minutes).
pub const CODE_TTL: Duration = Duration::from_secs(300);
/// A refresh token lasts this long (Cognito's default: 30 days).
pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Outstanding codes and refresh tokens each; the oldest go first beyond it,
/// so a client minting codes in a loop cannot grow memory.
const MAX_GRANTS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRequest {
    pub username: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// BASE64URL(SHA-256(verifier)), as the client sent it (method S256).
    pub code_challenge: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("the code or refresh token is unknown, expired or already used")]
    InvalidGrant,
    #[error("the code_verifier does not match the code_challenge")]
    VerifierMismatch,
    #[error("the code was issued to another client or redirect_uri")]
    Mismatch,
}

#[derive(Debug)]
struct Held<T> {
    value: T,
    expires: Instant,
    /// Insertion order, to drop the oldest when full.
    serial: u64,
}

#[derive(Debug)]
struct Table<T> {
    entries: HashMap<[u8; 32], Held<T>>,
    serial: u64,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            serial: 0,
        }
    }
}

impl<T> Table<T> {
    fn insert(&mut self, secret: &str, value: T, ttl: Duration) {
        let now = Instant::now();
        if self.entries.len() >= MAX_GRANTS {
            self.entries.retain(|_, held| held.expires > now);
        }
        if self.entries.len() >= MAX_GRANTS
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, held)| held.serial)
                .map(|(key, _)| *key)
        {
            self.entries.remove(&oldest);
        }
        self.serial += 1;
        let held = Held {
            value,
            expires: now + ttl,
            serial: self.serial,
        };
        self.entries.insert(digest(secret), held);
    }

    /// Removes and returns the grant if it is still valid.
    fn take(&mut self, secret: &str) -> Option<T> {
        let held = self.entries.remove(&digest(secret))?;
        (held.expires > Instant::now()).then_some(held.value)
    }
}

#[derive(Debug, Default)]
pub struct Grants {
    codes: Mutex<Table<CodeRequest>>,
    refresh: Mutex<Table<(String, String)>>,
}

impl Grants {
    /// A new single-use code for a signed-in user.
    pub fn issue_code(&self, request: CodeRequest) -> String {
        let code = random_secret();
        lock(&self.codes).insert(&code, request, CODE_TTL);
        code
    }

    /// The username the code was issued for, once: a second try fails even
    /// when the first one did (RFC 6749 §4.1.2: a replayed code is void).
    pub fn redeem_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<String, GrantError> {
        let request = lock(&self.codes)
            .take(code)
            .ok_or(GrantError::InvalidGrant)?;
        if request.client_id != client_id || request.redirect_uri != redirect_uri {
            return Err(GrantError::Mismatch);
        }
        if !valid_verifier(verifier) {
            return Err(GrantError::VerifierMismatch);
        }
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if !bool::from(computed.as_bytes().ct_eq(request.code_challenge.as_bytes())) {
            return Err(GrantError::VerifierMismatch);
        }
        Ok(request.username)
    }

    pub fn issue_refresh(&self, username: &str, client_id: &str) -> String {
        let token = random_secret();
        let grant = (username.to_owned(), client_id.to_owned());
        lock(&self.refresh).insert(&token, grant, REFRESH_TTL);
        token
    }

    /// The username behind a refresh token; the token stays valid (as
    /// Cognito's do) until it expires or is revoked.
    pub fn redeem_refresh(&self, token: &str, client_id: &str) -> Result<String, GrantError> {
        let table = lock(&self.refresh);
        let held = table
            .entries
            .get(&digest(token))
            .filter(|held| held.expires > Instant::now())
            .ok_or(GrantError::InvalidGrant)?;
        let (username, owner) = &held.value;
        if owner != client_id {
            return Err(GrantError::Mismatch);
        }
        Ok(username.clone())
    }

    /// Forgets a refresh token; unknown tokens are fine (RFC 7009 §2.2).
    pub fn revoke(&self, token: &str) {
        lock(&self.refresh).take(token);
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An S256 challenge is 43 base64url characters.
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // RFC 7636 appendix B.
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code(grants: &Grants) -> String {
        grants.issue_code(CodeRequest {
            username: "alice".into(),
            client_id: "console".into(),
            redirect_uri: "http://127.0.0.1:8080/console/callback".into(),
            code_challenge: CHALLENGE.into(),
        })
    }

    #[test]
    fn a_code_is_redeemed_once_with_its_verifier() {
        let grants = Grants::default();
        let uri = "http://127.0.0.1:8080/console/callback";
        let issued = code(&grants);
        assert_eq!(
            grants.redeem_code(&issued, "console", uri, VERIFIER),
            Ok("alice".into())
        );
        assert_eq!(
            grants.redeem_code(&issued, "console", uri, VERIFIER),
            Err(GrantError::InvalidGrant)
        );
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
        let issued = code(&grants);
        assert_eq!(
            grants.redeem_code(&issued, "console", uri, wrong),
            Err(GrantError::VerifierMismatch)
        );
        // The failed try used it up.
        assert_eq!(
            grants.redeem_code(&issued, "console", uri, VERIFIER),
            Err(GrantError::InvalidGrant)
        );
        let issued = code(&grants);
        assert_eq!(
            grants.redeem_code(&issued, "console", "http://evil.example/", VERIFIER),
            Err(GrantError::Mismatch)
        );
    }

    #[test]
    fn refresh_tokens_work_until_revoked_and_only_for_their_client() {
        let grants = Grants::default();
        let token = grants.issue_refresh("alice", "console");
        assert_eq!(grants.redeem_refresh(&token, "console"), Ok("alice".into()));
        assert_eq!(grants.redeem_refresh(&token, "console"), Ok("alice".into()));
        assert_eq!(
            grants.redeem_refresh(&token, "other"),
            Err(GrantError::Mismatch)
        );
        grants.revoke(&token);
        assert_eq!(
            grants.redeem_refresh(&token, "console"),
            Err(GrantError::InvalidGrant)
        );
    }

    #[test]
    fn the_table_stays_bounded() {
        let grants = Grants::default();
        let first = grants.issue_refresh("alice", "console");
        for _ in 0..MAX_GRANTS {
            grants.issue_refresh("mallory", "console");
        }
        assert_eq!(lock(&grants.refresh).entries.len(), MAX_GRANTS);
        assert!(grants.redeem_refresh(&first, "console").is_err());
    }

    #[test]
    fn verifiers_and_challenges_are_checked_for_shape() {
        assert!(valid_verifier(VERIFIER));
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}!", &VERIFIER[1..])));
        assert!(valid_challenge(CHALLENGE));
        assert!(!valid_challenge("plain"));
    }
}
