//! The face's OpenAPI document, generated from the handlers' annotations with `utoipa`
//! (`GET /api/openapi.json`), and Swagger UI at `/docs`, served offline by
//! [`crate::http::swagger`].

use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::state::AppState;

/// FastAPI's error body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct HTTPError {
    /// What went wrong.
    detail: String,
}

/// One validation error (FastAPI's `ValidationError`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ValidationError {
    #[schema(rename = "type")]
    kind: String,
    loc: Vec<String>,
    msg: String,
    input: Option<String>,
}

/// FastAPI's 422 body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct HTTPValidationError {
    detail: Vec<ValidationError>,
}

/// Body of the anti-hack unban.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct UnbanRequest {
    /// The banned address.
    ip: String,
    /// Only this jail (all jails when left out).
    jail: Option<String>,
}

/// Body of the US anti-hack unblock.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct UsUnblockRequest {
    /// One of the server's addresses, blocked by the provider (HACK) or by the customer.
    ip: String,
    /// Why it may be lifted (what was fixed).
    reason: String,
}

/// Body of the anti-spam unblock.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct AntispamUnblockRequest {
    /// The listed address.
    ip: String,
}

/// The `APIKeyHeader` security scheme (`X-API-Key`), named as FastAPI names it.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "APIKeyHeader",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A scoped key, f2h.<id>.<secret>",
            ))),
        );
    }
}

/// No tags, as FastAPI writes operations without any (Swagger UI lists them under
/// "default"): utoipa would otherwise tag each one with its handler's module path
/// (`super`, `super::antihack`).
struct Untagged;

impl Modify for Untagged {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                op.tags = None;
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "F2HCloud API (hostkey-emu)",
        description = "Scoped-key API of F2HCloud's NOC, as emulated by hostkey-emu. \
            Authorize with a key `f2h.<id>.<secret>`; each endpoint needs its capability."
    ),
    servers((url = "/api", description = "API base on this host")),
    paths(
        super::list_servers,
        super::server_details,
        super::reboot,
        super::rescue_exit,
        super::install_status,
        super::ipmi_status,
        super::antihack::status,
        super::antihack::unban,
        super::antihack::us_unblock,
        super::antihack::antispam_status,
        super::antihack::antispam_unblock,
        super::task,
        super::key_self,
    ),
    components(schemas(HTTPError, HTTPValidationError, ValidationError)),
    modifiers(&Security, &Untagged),
    security(("APIKeyHeader" = [])),
)]
struct ApiDoc;

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub(super) fn routes() -> Router<AppState> {
    use crate::http::swagger;
    Router::new()
        .route("/api/openapi.json", get(|| async { Json(openapi()) }))
        .route("/docs", get(page))
        .route("/docs/swagger-ui.css", get(swagger::css))
        .route("/docs/swagger-ui-bundle.js", get(swagger::bundle))
}

/// Swagger UI's page, on the document above.
async fn page() -> Html<String> {
    crate::http::swagger::page(
        "F2HCloud API - Swagger UI (hostkey-emu)",
        "/api/openapi.json",
        "/docs/",
    )
}
