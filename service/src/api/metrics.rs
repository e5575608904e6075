//! `/metrics` in Prometheus text, and the layer that times every answer and
//! counts upload outcomes. Uploads are counted here, from the status and the
//! problem code, because a refusal can come from any layer (admission, body
//! limits, validation), and each one answers through `problem_response`.

use super::AppState;
use crate::error::ProblemCode;
use crate::telemetry::metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// The routes that take an upload.
const UPLOAD_ROUTES: [&str; 2] = ["/v1/images", "/v1/uploads"];

pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status();
    metrics::request_answered(
        method_label(&method),
        &route,
        status.as_u16(),
        started.elapsed(),
    );
    if method == Method::POST && UPLOAD_ROUTES.contains(&route.as_str()) {
        if status == StatusCode::ACCEPTED || status == StatusCode::CREATED {
            metrics::upload_accepted();
        } else if !status.is_success() {
            let code = response.extensions().get::<ProblemCode>();
            metrics::upload_refused(code.map_or(status.as_str(), |code| &code.0));
        }
    }
    response
}

/// A client may send any method name: one series per name would let it grow
/// the recorder without bound, so the unusual ones share a label.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 7] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

/// The figures so far; gauges of the moment are read now.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = state.metrics else {
        return crate::error::ApiError::NotFound("route").into_response();
    };
    let admission = &state.admission;
    metrics::uploads_now(
        admission.uploads.total_in_flight(),
        admission.memory.in_use(),
        admission.settings.upload_memory,
    );
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
