//! Objects in an S3 bucket under a prefix. Uploads carry a SHA-256 checksum so
//! S3 refuses a corrupted body; reads and uploads can be handed to clients as
//! short-lived presigned URLs.

use super::{ObjectKey, ObjectStore, StorageError};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use bytes::Bytes;
use std::time::Duration;

/// Objects at an id never change; only signed-in callers reach them.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    pub fn new(client: Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The bucket key of an object key.
    pub fn s3_key(&self, key: &ObjectKey) -> String {
        if self.prefix.is_empty() {
            key.as_str().to_owned()
        } else {
            format!("{}/{}", self.prefix, key.as_str())
        }
    }

    /// The object key of a bucket key, if it is one of ours.
    pub fn object_key(&self, s3_key: &str) -> Option<String> {
        if self.prefix.is_empty() {
            return Some(s3_key.to_owned());
        }
        s3_key
            .strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(str::to_owned)
    }

    /// Creates the bucket unless it exists (for emulators and trials).
    pub async fn create_bucket_if_missing(&self) -> anyhow::Result<bool> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(false);
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await?;
        Ok(true)
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(
        &self,
        key: &ObjectKey,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.s3_key(key))
            .body(ByteStream::from(body))
            .content_type(content_type)
            .cache_control(CACHE_CONTROL)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| StorageError::new(key, e))?;
        Ok(())
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Bytes>, StorageError> {
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.s3_key(key))
            .send()
            .await;
        match response {
            Ok(object) => {
                let body = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| StorageError::new(key, e))?;
                Ok(Some(body.into_bytes()))
            }
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(StorageError::new(key, error)),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.s3_key(key))
            .send()
            .await
            .map_err(|e| StorageError::new(key, e))?;
        Ok(())
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        let config = PresigningConfig::expires_in(ttl).map_err(|e| StorageError::new(key, e))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.s3_key(key))
            .presigned(config)
            .await
            .map_err(|e| StorageError::new(key, e))?;
        Ok(Some(request.uri().to_owned()))
    }

    fn presigns(&self) -> bool {
        true
    }

    async fn presign_put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        let config = PresigningConfig::expires_in(ttl).map_err(|e| StorageError::new(key, e))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.s3_key(key))
            .content_type(content_type)
            .presigned(config)
            .await
            .map_err(|e| StorageError::new(key, e))?;
        Ok(Some(request.uri().to_owned()))
    }
}
