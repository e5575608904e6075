//! One `FlipframeWorld` per scenario: who is signed in, what was uploaded,
//! the last answer. Usernames get a per-scenario suffix, so scenarios running
//! at the same time never see each other's uploads in filtered views.

use crate::services::{ApiRequest, ApiResponse, Service};
use crate::targets::{Target, Variant};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

static CURRENT_TARGET: RwLock<Option<Arc<Target>>> = RwLock::new(None);

pub fn set_target(target: Arc<Target>) {
    *CURRENT_TARGET.write().unwrap() = Some(target);
}

#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct FlipframeWorld {
    pub target: Arc<Target>,
    pub variant: Variant,
    scenario: String,
    /// Bearer credentials of the signed-in user (or whatever is being tried).
    pub credentials: Option<String>,
    /// Headers sent with every request besides the credentials (a second credential).
    pub extra_headers: Vec<(String, String)>,
    /// Tokens of other signed-in users, by name.
    pub others: HashMap<String, String>,
    pub response: Option<ApiResponse>,
    /// My uploads, oldest first; the last is "the upload".
    pub uploads: Vec<String>,
    /// A presigned upload ticket.
    pub ticket: Option<Value>,
    pub pages: Vec<Value>,
    /// The signed-in user's username.
    pub me: String,
    /// The entry the last accepted upload answered with (its state at acceptance).
    pub accepted: Option<Value>,
    /// The bytes of my last upload.
    pub sent: Vec<u8>,
    /// The last downloaded transformed image.
    pub downloaded: Vec<u8>,
    /// Configured partner token names, oldest first.
    pub partners: Vec<String>,
    /// Username → password in the moto user pool.
    pub passwords: HashMap<String, String>,
    /// Uploads by other users, by their name in the feature.
    pub their_uploads: HashMap<String, Vec<String>>,
    /// The console's headless browser, once a scenario opens it.
    pub browser: Option<crate::support::browser::Browser>,
    /// Files a console or client scenario uses.
    pub files: Option<tempfile::TempDir>,
    /// The client's credentials folder and its last run.
    pub client_config: Option<tempfile::TempDir>,
    pub client_run: Option<crate::support::cli_client::Run>,
}

impl std::fmt::Debug for FlipframeWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlipframeWorld")
            .field("target", &self.target.kind)
            .field("variant", &self.variant)
            .field("uploads", &self.uploads)
            .field("status", &self.response.as_ref().map(|r| r.status))
            .finish_non_exhaustive()
    }
}

impl FlipframeWorld {
    fn new() -> Self {
        let target = CURRENT_TARGET
            .read()
            .unwrap()
            .clone()
            .expect("a target is set before each run");
        Self {
            target,
            variant: Variant::default(),
            scenario: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            credentials: None,
            extra_headers: Vec::new(),
            others: HashMap::new(),
            response: None,
            uploads: Vec::new(),
            ticket: None,
            pages: Vec::new(),
            accepted: None,
            me: String::new(),
            sent: Vec::new(),
            downloaded: Vec::new(),
            partners: Vec::new(),
            passwords: HashMap::new(),
            their_uploads: HashMap::new(),
            browser: None,
            files: None,
            client_config: None,
            client_run: None,
        }
    }

    /// The username this scenario uses for the name in the feature.
    pub fn username(&self, name: &str) -> String {
        format!("{name}-{}", self.scenario)
    }

    pub async fn service(&self) -> Arc<dyn Service> {
        self.target.service(&self.variant).await
    }

    /// Sends a request with the current credentials and keeps the answer.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> &ApiResponse {
        let mut headers = headers;
        headers.extend(self.extra_headers.iter().cloned());
        if let Some(token) = &self.credentials {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        self.send_raw(ApiRequest {
            method: method.into(),
            path: path.into(),
            headers,
            body,
        })
        .await
    }

    pub async fn send_raw(&mut self, request: ApiRequest) -> &ApiResponse {
        let response = self.service().await.send(request).await;
        self.response = Some(response);
        self.response.as_ref().unwrap()
    }

    pub fn last(&self) -> &ApiResponse {
        self.response.as_ref().expect("a request was sent")
    }

    pub fn upload_id(&self) -> String {
        self.uploads
            .last()
            .cloned()
            .expect("something was uploaded")
    }

    /// GETs `path` with the current credentials and expects a 200.
    pub async fn get_ok(&mut self, path: &str) -> ApiResponse {
        let response = self.send("GET", path, vec![], None).await.clone();
        response.expect_status(200);
        response
    }

    pub async fn entry(&mut self, id: &str) -> Value {
        self.get_ok(&format!("/v1/images/{id}")).await.json()
    }
}
