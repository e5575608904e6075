//! flipframe: upload photos, keep the original, serve a 1280×720 version
//! rotated 180°, and record every upload in a processing log.

pub mod admission;
pub mod allocator;
pub mod api;
pub mod app;
pub mod auth;
pub mod aws;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod jobs;
pub mod lambda;
pub mod ledger;
pub mod pipeline;
pub mod sandbox;
pub mod signin;
pub mod storage;
pub mod telemetry;
pub mod version;
pub mod webhooks;

pub use app::Application;
pub use config::Config;
