//! Test support shared by the test binaries: real images made on the fly and
//! a mock Cognito issuer serving real keys over real HTTP.
#![allow(dead_code)]

pub mod browser;
pub mod cli_client;
pub mod images;
pub mod mock_cognito;
pub mod moto;
pub mod outage;
pub mod process;
