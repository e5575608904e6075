//! Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(secret,
//! "{webhook-id}.{webhook-timestamp}.{body}")), under a `whsec_` secret.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key bytes of a `whsec_<base64>` secret.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Shorter keys are guessable.
const MIN_SECRET_BYTES: usize = 24;

impl Secret {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let encoded = text
            .strip_prefix("whsec_")
            .context("a webhook secret starts with whsec_")?;
        let bytes = STANDARD
            .decode(encoded)
            .context("a webhook secret is whsec_ and base64")?;
        if bytes.len() < MIN_SECRET_BYTES {
            bail!("a webhook secret needs at least {MIN_SECRET_BYTES} bytes of key");
        }
        Ok(Self(bytes))
    }
}

/// The `webhook-signature` header's value.
pub fn sign(secret: &Secret, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret.0).expect("HMAC takes any key length");
    mac.update(format!("{webhook_id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}
