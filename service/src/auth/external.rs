//! Fixed tokens for external systems. Only SHA-256 hashes are configured;
//! a presented token is hashed and compared with every entry in constant time.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// Shorter tokens are guessable; they are refused wherever a token is seen.
pub const MIN_TOKEN_LEN: usize = 32;

#[derive(Clone, Default)]
pub struct ExternalTokens {
    entries: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for ExternalTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.entries.iter().map(|(name, _)| name).collect();
        f.debug_struct("ExternalTokens")
            .field("names", &names)
            .finish()
    }
}

impl ExternalTokens {
    /// Parses `name:sha256hex,name:sha256hex`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut entries: Vec<(String, [u8; 32])> = Vec::new();
        for item in spec
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let (name, hash) = item
                .split_once(':')
                .with_context(|| format!("external token entry {item:?} is not name:sha256hex"))?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                bail!("external token name {name:?} must be letters, digits, '-', '_' or '.'");
            }
            let digest: [u8; 32] = hex::decode(hash.trim())
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .with_context(|| {
                    format!(
                        "external token {name:?}: expected the 64 hex digits of a SHA-256 hash \
                         (see `flipframe token hash`), never the token itself"
                    )
                })?;
            if entries.iter().any(|(existing, _)| existing == name) {
                bail!("external token name {name:?} appears twice");
            }
            entries.push((name.to_owned(), digest));
        }
        Ok(Self { entries })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _)| name.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The configured name of `token`, if it is one of ours. Every entry is
    /// compared so the time taken says nothing about which one matched.
    pub fn identify(&self, token: &str) -> Option<&str> {
        if token.len() < MIN_TOKEN_LEN {
            return None;
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = u32::MAX;
        for (index, (_, hash)) in self.entries.iter().enumerate() {
            let matched = hash.ct_eq(&digest);
            found = u32::conditional_select(&found, &(index as u32), matched);
        }
        self.entries
            .get(found as usize)
            .map(|(name, _)| name.as_str())
    }
}

/// Hex SHA-256 of a token, as configured in `FLIPFRAME_EXTERNAL_TOKENS`.
pub fn hash_token(token: &str) -> anyhow::Result<String> {
    if token.len() < MIN_TOKEN_LEN {
        bail!("tokens must be at least {MIN_TOKEN_LEN} characters long");
    }
    Ok(hex::encode(Sha256::digest(token.as_bytes())))
}

/// A fresh token with 256 bits from the OS's random source.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("ff_{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_configured_tokens_only() {
        let (a, b) = (new_token(), new_token());
        let spec = format!(
            "partner-a:{},partner-b:{}",
            hash_token(&a).unwrap(),
            hash_token(&b).unwrap()
        );
        let tokens = ExternalTokens::parse(&spec).unwrap();
        assert_eq!(tokens.identify(&a), Some("partner-a"));
        assert_eq!(tokens.identify(&b), Some("partner-b"));
        assert_eq!(tokens.identify(&new_token()), None);
        assert_eq!(tokens.identify("short"), None);
        assert!(!format!("{tokens:?}").contains(&hash_token(&a).unwrap()));
    }

    #[test]
    fn refuses_bad_configuration() {
        let hash = hash_token(&new_token()).unwrap();
        assert!(ExternalTokens::parse(&format!("a:{hash},a:{hash}")).is_err());
        assert!(ExternalTokens::parse("a:not-a-hash").is_err());
        assert!(ExternalTokens::parse(&format!("bad name:{hash}")).is_err());
        assert!(ExternalTokens::parse(&format!(":{hash}")).is_err());
        assert!(ExternalTokens::parse("").unwrap().is_empty());
        assert!(hash_token("too-short").is_err());
    }
}
