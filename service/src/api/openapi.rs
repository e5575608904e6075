//! The OpenAPI 3.1 document, generated from the handlers' annotations.

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

/// This document, as JSON.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn document() -> impl IntoResponse {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| {
        Bytes::from(serde_json::to_vec(&super::openapi()).expect("the OpenAPI document serialises"))
    });
    ([(header::CONTENT_TYPE, "application/json")], json.clone())
}
