//! Step definitions, one file per domain concept.

mod auth;
mod client;
mod common;
mod console;
mod log;
mod tokens;
mod transform;
mod upload;
