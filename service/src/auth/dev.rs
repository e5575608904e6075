//! The local dev issuer: a signing key kept in the data folder, tokens shaped
//! like Cognito access tokens, verified by the same `JwtVerifier`.

use super::SigningKey;
use crate::signin::{Minted, Minter};
use anyhow::Context;
use jsonwebtoken::jwk::JwkSet;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEV_ISSUER: &str = "urn:flipframe:dev";
pub const DEV_CLIENT_ID: &str = "flipframe-dev";

#[derive(Debug)]
pub struct DevIssuer {
    key: SigningKey,
}

impl DevIssuer {
    pub fn key_path(data_dir: &Path) -> PathBuf {
        data_dir.join("dev-auth").join("signing-key.pem")
    }

    /// Loads the key from the data folder, creating it (mode 0600) on first use.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = Self::key_path(data_dir);
        if path.exists() {
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok(Self {
                key: SigningKey::from_pkcs1_pem(&pem)?,
            });
        }
        let key = SigningKey::generate()?;
        let folder = path.parent().expect("key path has a folder");
        std::fs::create_dir_all(folder)?;
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        std::io::Write::write_all(&mut file, key.to_pkcs1_pem()?.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        // Another process may have created it meanwhile: keep whichever came first.
        if file.persist_noclobber(&path).is_err() {
            return Self::load_or_create(data_dir);
        }
        Ok(Self { key })
    }

    pub fn jwks(&self) -> JwkSet {
        serde_json::from_value(json!({ "keys": [self.key.jwk()] }))
            .expect("a signing key's JWK is a valid JWK set")
    }

    /// A Cognito-shaped access token for `username`.
    pub fn mint_access(
        &self,
        username: &str,
        email: Option<&str>,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "sub": format!("dev:{username}"),
            "iss": DEV_ISSUER,
            "client_id": DEV_CLIENT_ID,
            "token_use": "access",
            "username": username,
            "iat": now,
            "nbf": now,
            "exp": now + ttl.as_secs() as i64,
        });
        if let Some(email) = email {
            claims["email"] = json!(email);
        }
        self.key.sign(&claims)
    }
}

/// What the dev sign-in page ends with: the same access token as
/// `flipframe token dev`, and an ID token for OpenID clients.
impl Minter for DevIssuer {
    fn mint(&self, username: &str, client_id: &str, ttl: Duration) -> anyhow::Result<Minted> {
        let now = chrono::Utc::now().timestamp();
        let id_token = self.key.sign(&json!({
            "sub": format!("dev:{username}"),
            "iss": DEV_ISSUER,
            "aud": client_id,
            "token_use": "id",
            "cognito:username": username,
            "auth_time": now,
            "iat": now,
            "exp": now + ttl.as_secs() as i64,
        }))?;
        Ok(Minted {
            access_token: self.mint_access(username, None, ttl)?,
            id_token,
        })
    }
}
