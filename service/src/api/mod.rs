//! The HTTP API: one axum `Router` over an `AppState` of trait objects, served
//! the same way standalone and on Lambda.

mod body_pool;
mod disposition;
mod extract;
mod health;
mod idempotency;
mod images;
mod metrics;
mod notify;
mod openapi;
mod responses;
mod upload_body;
mod uploads;

pub(crate) use body_pool::release_idle_buffers;
pub use extract::{AnyCaller, SignedInUser};
pub use openapi::ApiDoc;
pub(crate) use upload_body::{clean_filename, read_upload};

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
use crate::webhooks::Notifier;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
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
    /// Browser origins besides this one allowed to call the API (CORS).
    pub cors_origins: Vec<HeaderValue>,
    /// The last backend probe `/readyz` answered with.
    pub readiness: Arc<health::ReadinessProbe>,
    /// Who may be named in `?notify=`, and tells them.
    pub notifier: Notifier,
    /// Where `/metrics` renders from, when it is served.
    pub metrics: Option<&'static PrometheusHandle>,
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
    let (api, _) = routes(state.store.presigns()).split_for_parts();
    let mut router = api.layer(DefaultBodyLimit::max(body_limit));
    if let Some(dev) = state.dev_issuer.clone() {
        router = router
            .route("/dev/jwks.json", static_json(dev.jwks))
            .merge(signin::router(dev.sign_in));
    }
    if state.metrics.is_some() {
        router = router.route("/metrics", get(metrics::render));
    }
    let cors = cors_layer(&state.cors_origins);
    router
        .merge(console::router(Arc::clone(&state.console)))
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        // Per route (axum applies `layer` to each), so the matched path is known.
        .layer(axum::middleware::from_fn(metrics::record))
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
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ))
                // Pages set their own policy; JSON and images render nothing.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
                ))
                .option_layer(cors),
        )
}

/// Closed unless origins are configured: then exactly those, for the
/// headers and methods the API uses, with the response headers clients read.
fn cors_layer(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_NONE_MATCH,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-api-key"),
            ])
            .expose_headers([
                header::LOCATION,
                header::ETAG,
                header::RETRY_AFTER,
                header::CONTENT_DISPOSITION,
                HeaderName::from_static("idempotent-replayed"),
                REQUEST_ID,
            ])
            .max_age(std::time::Duration::from_secs(600)),
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
/// Presigned uploads exist only on storage that hands out URLs.
fn routes(presigned_uploads: bool) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(images::upload, images::list))
        .routes(routes!(images::entry))
        .routes(routes!(images::original))
        .routes(routes!(images::transformed))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi::document));
    if presigned_uploads {
        routes.routes(routes!(uploads::start_upload))
    } else {
        routes
    }
}

/// The OpenAPI 3.1 document of the whole API (on S3: every route).
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi_for(true)
}

/// The document of one runtime: with or without presigned uploads.
pub fn openapi_for(presigned_uploads: bool) -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    let mut document = routes(presigned_uploads).split_for_parts().1;
    openapi::ProblemCodes.modify(&mut document);
    openapi::BackendOutages.modify(&mut document);
    document
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
        upload_id = tracing::field::Empty,
    )
}

/// The id `SetRequestIdLayer` gave this request, for work it hands on.
pub(crate) fn request_id(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(&REQUEST_ID)?.to_str().ok()?;
    Some(value.to_owned())
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(anyhow::anyhow!("a request handler panicked")).into_response()
}
