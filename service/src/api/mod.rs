//! The HTTP API: one axum `Router` over an `AppState` of trait objects, served
//! the same way standalone and on Lambda.

mod extract;
mod health;
mod idempotency;
mod images;
mod openapi;
mod responses;
mod upload_body;
mod uploads;

pub use extract::{AnyCaller, SignedInUser};
pub use openapi::ApiDoc;

use crate::admission::Admission;
use crate::auth::Authenticator;
use crate::console::{self, ConsoleSettings};
use crate::error::ApiError;
use crate::jobs::SharedQueue;
use crate::ledger::SharedLedger;
use crate::pipeline::{Limits, TransformSpec};
use crate::sandbox::SharedTransformer;
use crate::signin::{self, SignIn};
use crate::storage::SharedStore;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use bytes::Bytes;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: SharedStore,
    pub ledger: SharedLedger,
    pub auth: Arc<Authenticator>,
    pub jobs: SharedQueue,
    pub limits: Limits,
    /// The transformed version, made during validation when `jobs` takes it.
    pub spec: TransformSpec,
    /// Larger objects are answered with a redirect to a presigned URL.
    pub max_inline_bytes: Option<u64>,
    /// Per-caller bounds, the CPU share and the upload memory budget.
    pub admission: Arc<Admission>,
    /// Where the pipeline runs on uploaded bytes.
    pub transformer: SharedTransformer,
    /// The dev issuer's keys and sign-in endpoints, only in dev auth mode.
    pub dev_issuer: Option<DevIssuerRoutes>,
    /// What the web console is told about sign-in and uploads.
    pub console: Arc<ConsoleSettings>,
}

#[derive(Debug, Clone)]
pub struct DevIssuerRoutes {
    /// The public keys as JSON.
    pub jwks: Bytes,
    pub sign_in: Arc<SignIn>,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    // Multipart framing adds a little to the file itself.
    let body_limit = usize::try_from(state.limits.max_body_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(1 << 20);
    let (api, _) = routes().split_for_parts();
    let mut router = api.layer(DefaultBodyLimit::max(body_limit));
    if let Some(dev) = state.dev_issuer.clone() {
        router = router
            .route("/dev/jwks.json", static_json(dev.jwks))
            .merge(signin::router(dev.sign_in));
    }
    router
        .merge(console::router(Arc::clone(&state.console)))
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                )),
        )
}

/// A route that always answers the same JSON document.
fn static_json(document: Bytes) -> MethodRouter<AppState> {
    get(move || {
        let document = document.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], document) }
    })
}

/// Every documented route; the OpenAPI document is generated from these.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(images::upload, images::list))
        .routes(routes!(images::entry))
        .routes(routes!(images::original))
        .routes(routes!(images::transformed))
        .routes(routes!(uploads::start_upload))
        .routes(routes!(health::healthz))
        .routes(routes!(openapi::document))
}

/// The OpenAPI 3.1 document of the whole API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(anyhow::anyhow!("a request handler panicked")).into_response()
}
