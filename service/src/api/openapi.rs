//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use super::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "flipframe",
        description = "Upload photos; get them back as 1280×720 versions rotated 180°, with a processing log of every upload."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "images", description = "Uploads, the processing log and downloads"),
        (name = "meta", description = "Liveness and this document")
    )
)]
pub struct ApiDoc;

/// `bearer`: a user's Cognito JWT or an external token; `api_key`: an external token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// The problem `code` member as the enum of every code the API gives
/// (applied to the finished document: the routes bring the schemas).
pub struct ProblemCodes;

impl Modify for ProblemCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Object, Schema, Type};
        use utoipa::openapi::{RefOr, schema::ObjectBuilder};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::Object(problem))) =
            components.schemas.get_mut("ProblemExtensions")
        else {
            return;
        };
        let codes: Object = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Stable machine-readable code."))
            .enum_values(Some(crate::error::PROBLEM_CODES.iter().copied()))
            .build();
        problem
            .properties
            .insert("code".to_owned(), RefOr::T(Schema::Object(codes)));
    }
}

/// Every `/v1` operation reads the log or the storage, so each may answer
/// `backend_unavailable` while one is out (added where a route names no 503).
pub struct BackendOutages;

impl Modify for BackendOutages {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let outage = ResponseBuilder::new()
            .description("The storage or the log is out for now (`backend_unavailable`); retry")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(
                        utoipa::openapi::schema::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::Integer),
                    ))
                    .build(),
            )
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                operation
                    .responses
                    .responses
                    .entry("503".to_owned())
                    .or_insert_with(|| RefOr::T(outage.clone()));
            }
        }
    }
}

/// This document, as JSON.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn document(State(state): State<AppState>) -> impl IntoResponse {
    static WITH_PRESIGNED: OnceLock<Bytes> = OnceLock::new();
    static INLINE_ONLY: OnceLock<Bytes> = OnceLock::new();
    let presigns = state.store.presigns();
    let cell = if presigns {
        &WITH_PRESIGNED
    } else {
        &INLINE_ONLY
    };
    let json = cell.get_or_init(|| {
        Bytes::from(
            serde_json::to_vec(&super::openapi_for(presigns))
                .expect("the OpenAPI document serialises"),
        )
    });
    ([(header::CONTENT_TYPE, "application/json")], json.clone())
}
