//! Authentication failures. The reason is for our logs only: clients learn
//! whether credentials were missing, invalid or insufficient, nothing more.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials")]
    Missing,
    #[error("invalid credentials: {0}")]
    Invalid(&'static str),
    #[error("this caller may not use this route")]
    Forbidden,
}
