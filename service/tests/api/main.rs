//! HTTP tests against the real application on a real listener (port 0).

#[path = "../support/mod.rs"]
mod support;

mod admission;
#[path = "auth.rs"]
mod api_auth;
mod client;
mod console;
mod downloads;
mod helpers;
mod hygiene;
mod jwks;
mod log;
mod operations;
mod outages;
mod recovery;
mod upload;
mod webhooks;
