//! Who may be told: `NAME=whsec_SECRET@URL,...`, one per external token
//! name. HTTPS only, except to this machine (development and tests).

use super::Secret;
use anyhow::{Context, bail};
use url::Url;

#[derive(Debug, Clone)]
pub struct Recipient {
    /// The external token's name.
    pub name: String,
    pub url: Url,
    pub secret: Secret,
}

#[derive(Debug, Clone, Default)]
pub struct Recipients(Vec<Recipient>);

impl Recipients {
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut recipients: Vec<Recipient> = Vec::new();
        for item in spec
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let (name, rest) = item
                .split_once('=')
                .context("a webhook is NAME=whsec_SECRET@URL")?;
            // Base64 has no '@': the first one ends the secret.
            let (secret, url) = rest
                .split_once('@')
                .context("a webhook is NAME=whsec_SECRET@URL")?;
            let name = name.trim().to_owned();
            let secret = Secret::parse(secret).with_context(|| format!("webhook {name:?}"))?;
            let url = Url::parse(url).with_context(|| format!("webhook {name:?}: its URL"))?;
            let local = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            if url.scheme() != "https" && !(url.scheme() == "http" && local) {
                bail!("webhook {name:?}: the URL must be https:// (http:// only to this machine)");
            }
            if recipients.iter().any(|known| known.name == name) {
                bail!("webhook {name:?} appears twice");
            }
            recipients.push(Recipient { name, url, secret });
        }
        Ok(Self(recipients))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Recipient> {
        self.0.iter().find(|recipient| recipient.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|recipient| recipient.name.as_str())
    }
}
