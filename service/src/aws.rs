//! AWS SDK configuration from the standard chain (env, profile, Lambda role).
//! With an endpoint override (an emulator) clients use path-style addressing,
//! and dummy credentials when none are configured.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// `AWS_ENDPOINT_URL`: where an emulator such as moto or LocalStack listens.
    pub endpoint_url: Option<String>,
}

impl AwsSettings {
    pub fn from_env() -> Self {
        Self {
            endpoint_url: std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|url| !url.is_empty()),
        }
    }
}

pub async fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
            && std::env::var_os("AWS_PROFILE").is_none()
        {
            loader = loader
                .credentials_provider(Credentials::new("test", "test", None, None, "emulator"));
        }
    }
    let config = loader.load().await;
    if config.region().is_some() {
        return config;
    }
    config
        .into_builder()
        .region(Region::new("us-east-1"))
        .build()
}

pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    // Emulators answer on one host: virtual-hosted bucket names would not resolve.
    let path_style =
        sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}
