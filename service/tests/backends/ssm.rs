//! Secrets read from SSM at start.

use crate::support::moto::{moto, unique};

#[tokio::test]
async fn external_token_hashes_are_read_from_ssm_at_start() {
    use flipframe::auth::{hash_token, new_token};
    let token = new_token();
    let name = format!("/flipframe/{}/external-tokens", unique("test"));
    let spec = format!("partner-a:{}", hash_token(&token).unwrap());
    let sdk = moto().sdk().await;
    aws_sdk_ssm::Client::new(&sdk.sdk)
        .put_parameter()
        .name(&name)
        .value(&spec)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let mut config = flipframe::Config::embedded(std::env::temp_dir());
    config.aws = moto().settings();
    config.external_tokens_parameter = Some(name);
    config.load_secrets().await.unwrap();
    assert_eq!(config.external_tokens.identify(&token), Some("partner-a"));
    assert_eq!(config.external_tokens.identify(&new_token()), None);
}
