//! Who hears when an upload ends: the `notify` an uploader gives, checked
//! against the configured webhooks before the body is read.

use super::AppState;
use crate::error::ApiError;

/// The recipients `notify` names, each one known; in the order given, once each.
pub(super) fn recipients(state: &AppState, notify: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mut names: Vec<String> = Vec::new();
    for name in notify.unwrap_or_default().split(',').map(str::trim) {
        if name.is_empty() || names.iter().any(|known| known == name) {
            continue;
        }
        if !state.notifier.knows(name) {
            return Err(ApiError::UnknownRecipient(name.to_owned()));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}
