//! An RS256 signing key with its public JWK: what the dev issuer signs with,
//! and what tests use to play Cognito.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub struct SigningKey {
    kid: String,
    private: RsaPrivateKey,
    encoding: EncodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn generate() -> anyhow::Result<Self> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
        Self::from_private(private)
    }

    pub fn from_pkcs1_pem(pem: &str) -> anyhow::Result<Self> {
        Self::from_private(RsaPrivateKey::from_pkcs1_pem(pem).context("not a PKCS#1 RSA key")?)
    }

    fn from_private(private: RsaPrivateKey) -> anyhow::Result<Self> {
        let der = private.to_pkcs1_der()?;
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let kid = hex::encode(&Sha256::digest(private.n().to_bytes_be())[..8]);
        Ok(Self {
            kid,
            private,
            encoding,
        })
    }

    pub fn to_pkcs1_pem(&self) -> anyhow::Result<String> {
        Ok(self.private.to_pkcs1_pem(LineEnding::LF)?.to_string())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key(&self) -> RsaPublicKey {
        self.private.to_public_key()
    }

    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public half as a JWK, as Cognito publishes it.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(self.private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.private.e().to_bytes_be()),
        })
    }

    /// Signs `claims` as an RS256 JWT whose header names this key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }
}
