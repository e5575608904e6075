//! Saved sign-ins, one per profile, in a file only the user can read
//! (`credentials.json` in the platform's config folder, like the AWS CLI's
//! profiles; `FLIPFRAME_CONFIG_DIR` moves it).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    pub endpoint: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// Absolute, so a refresh needs no round trip to the service first.
    pub token_endpoint: String,
    pub client_id: String,
    /// Which endpoint `token_endpoint` is, so a refresh speaks its language.
    #[serde(default)]
    pub flow: Flow,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// The OAuth 2.0 token endpoint (Hosted UI or dev issuer).
    #[default]
    AuthorizationCode,
    /// The user pool's InitiateAuth API (`login --username`).
    UserPassword,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Credentials {
    profiles: BTreeMap<String, Profile>,
}

pub fn credentials_path() -> anyhow::Result<PathBuf> {
    if let Some(folder) = std::env::var_os("FLIPFRAME_CONFIG_DIR") {
        return Ok(PathBuf::from(folder).join("credentials.json"));
    }
    let dirs = directories::ProjectDirs::from("", "", "flipframe")
        .context("no home folder to keep sign-ins in")?;
    Ok(dirs.config_dir().join("credentials.json"))
}

fn read() -> anyhow::Result<Credentials> {
    let path = credentials_path()?;
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a credentials file", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

pub fn load(name: &str) -> anyhow::Result<Option<Profile>> {
    Ok(read()?.profiles.remove(name))
}

/// Saves (or with `None` forgets) a profile; the file is replaced whole,
/// mode 0600, so a crash never leaves half of it.
pub fn save(name: &str, profile: Option<Profile>) -> anyhow::Result<()> {
    let mut credentials = read()?;
    match profile {
        Some(profile) => credentials.profiles.insert(name.to_owned(), profile),
        None => credentials.profiles.remove(name),
    };
    let path = credentials_path()?;
    let folder = path.parent().context("credentials path has a folder")?;
    std::fs::create_dir_all(folder)?;
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    std::io::Write::write_all(&mut file, &serde_json::to_vec_pretty(&credentials)?)?;
    file.as_file().sync_all()?;
    file.persist(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
