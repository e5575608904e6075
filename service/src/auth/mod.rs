//! Who is calling: signed-in users with Cognito-shaped JWTs (or the local dev
//! issuer's, verified the same way), and external systems with fixed tokens.

mod cognito;
mod credentials;
mod dev;
mod error;
mod external;
mod jwks;
mod signing;

pub use cognito::{JwtVerifier, TokenUse};
pub use dev::{DEV_CLIENT_ID, DEV_ISSUER, DevIssuer};
pub use error::AuthError;
pub use external::{ExternalTokens, MIN_TOKEN_LEN, hash_token, new_token};
pub use jwks::{HttpJwks, JwksCache, JwksSource, StaticJwks};
pub use signing::SigningKey;

use crate::ledger::Uploader;
use axum::http::HeaderMap;
use credentials::Credential;

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in user; the identity the processing log records.
    User(Uploader),
    /// An external system, known by the name its token was configured under.
    External { name: String },
}

#[derive(Debug)]
pub struct Authenticator {
    users: JwtVerifier,
    external: ExternalTokens,
}

impl Authenticator {
    pub fn new(users: JwtVerifier, external: ExternalTokens) -> Self {
        Self { users, external }
    }

    pub fn users(&self) -> &JwtVerifier {
        &self.users
    }

    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        match Credential::from_headers(headers)? {
            Credential::Jwt(token) => self.users.verify(token).await.map(Caller::User),
            Credential::Opaque(token) => self
                .external
                .identify(token)
                .map(|name| Caller::External {
                    name: name.to_owned(),
                })
                .ok_or(AuthError::Invalid("unknown external token")),
        }
    }
}
