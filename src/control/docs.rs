//! The control plane's own API description: an OpenAPI 3.1 document of every `/_emu/`
//! route, generated with `utoipa` from the handlers' `#[utoipa::path]` annotations and the
//! `ToSchema` types of what they take and answer (`GET /_emu/openapi.json`), and Swagger
//! UI on it at `/_emu/docs`, served offline by [`crate::http::swagger`].
//!
//! The page, its assets and the document are public, as `/_emu/ca.pem` is: a browser
//! cannot send a bearer token when it opens a page, and the document only says what the
//! code does. Every operation they describe stays behind the admin token: the document
//! declares it as the `adminToken` bearer scheme, so Swagger UI's "Authorize" button takes
//! the token and sends `Authorization: Bearer <token>` with every "Execute".
//!
//! Under a world (`/w/{id}/_emu/docs`) the page loads the world's own document (its URLs
//! are relative), whose `servers` entry is the world's prefix, so "Execute" acts on that
//! world; the world routes themselves (`/_emu/worlds`) are only the default world's.

use std::sync::{Arc, OnceLock};

use axum::extract::OriginalUri;
use axum::http::Uri;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

use crate::http::swagger;
use crate::state::AppState;

/// The name of the admin token's security scheme in the document.
pub const ADMIN_SCHEME: &str = "adminToken";

/// Every control-plane error: `{"status":"error","error":"..."}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ControlError {
    /// Always `error`.
    #[schema(example = "error")]
    status: String,
    /// What went wrong, in words.
    error: String,
}

/// `GET /_emu/health`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Health {
    #[schema(example = "ok")]
    status: String,
    /// The emulator's version.
    version: String,
    /// The git revision it was built from.
    revision: String,
    /// The scenario it runs.
    scenario: String,
    /// The emulator clock (Unix seconds).
    time: i64,
    /// How far the emulator clock is ahead of real time.
    clock_offset_ms: i64,
    jobs: Jobs,
}

/// Jobs waiting for the worker.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Jobs {
    queued: i64,
    running: i64,
}

/// `POST /_emu/reset`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Reset {
    #[schema(example = "ok")]
    status: String,
    /// The scenario the state went back to.
    scenario: String,
}

/// `GET /_emu/clock`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Clock {
    /// The emulator clock (Unix seconds).
    now: i64,
    /// How far it is ahead of real time.
    offset_ms: i64,
}

/// `POST /_emu/clock/advance`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Advanced {
    #[schema(example = "ok")]
    status: String,
    now: i64,
    offset_ms: i64,
}

/// `POST /_emu/tasks/run`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Ran {
    #[schema(example = "ok")]
    status: String,
    /// How many jobs ran.
    ran: i64,
}

/// `POST /_emu/prune`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Pruned {
    #[schema(example = "ok")]
    status: String,
    /// Rows removed, per kind.
    #[schema(value_type = Object)]
    pruned: Value,
}

/// `GET /_emu/outbox`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Outbox {
    #[schema(example = "ok")]
    status: String,
    /// The e-mails the emulator would have sent, newest first (200 at most).
    mails: Vec<Mail>,
}

/// An e-mail the emulator would have sent.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Mail {
    id: i64,
    account_id: Option<i64>,
    to_address: String,
    subject: String,
    body: String,
    /// When, on the emulator clock (Unix seconds).
    created_at: i64,
}

/// A payment or a refund of an invoice.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Payment {
    #[schema(example = "ok")]
    status: String,
    invoice: i64,
    /// The invoice's status after it (`Paid`, `Unpaid`, `Refunded`...).
    invoice_status: String,
    /// The transaction's id.
    transaction: i64,
    /// The amount moved, as a decimal text (`12.50`).
    amount: String,
    /// What is left to pay, as a decimal text.
    balance: String,
}

/// `GET /_emu/accounts/{id}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct AccountAnswer {
    #[schema(example = "ok")]
    status: String,
    account: Account,
    /// Newest first.
    invoices: Vec<Invoice>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Account {
    id: i64,
    /// The scenario's handle of the account.
    handle: String,
    email: String,
    currency: String,
    /// The credit balance, in the account's currency.
    credit: f64,
    credit_cents: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Invoice {
    id: i64,
    status: String,
    total: f64,
    credit: f64,
    created_at: i64,
    paid_at: Option<i64>,
    items: Vec<InvoiceItem>,
    kind: String,
    total_cents: i64,
    credit_cents: i64,
    paid_cents: i64,
    /// The server it bills (0: none).
    server_id: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct InvoiceItem {
    #[schema(rename = "type")]
    kind: String,
    relid: i64,
    description: String,
    amount: f64,
}

/// A remote-hands ticket (jira.php).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Ticket {
    /// `RH-<n>`.
    key: String,
    status: String,
    server_id: i64,
    account_id: i64,
    action: String,
    subject: String,
    message: String,
    resolution: String,
    callback_key: String,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    created: String,
    done: Option<String>,
}

/// `GET /_emu/tickets`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Tickets {
    #[schema(example = "ok")]
    status: String,
    /// Newest first (200 at most).
    tickets: Vec<Ticket>,
}

/// `GET /_emu/tickets/{key}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct TicketAnswer {
    #[schema(example = "ok")]
    status: String,
    ticket: Ticket,
}

/// A fault rule as the registry lists it: the rule as written, and its state.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct FaultListed {
    id: u64,
    /// How many requests it applied to.
    hits: u64,
    /// Matches left (`null`: unlimited).
    remaining: Option<u64>,
    /// When it ends, on the emulator clock (`null`: never).
    expires_at: Option<i64>,
    /// Whether it applies now.
    active: bool,
    module: Option<String>,
    action: Option<String>,
    server: Option<i64>,
    account: Option<i64>,
    /// Left out when empty.
    #[schema(value_type = Option<Object>)]
    fields: Option<Value>,
    effect: crate::faults::Effect,
    times: Option<u64>,
    probability: Option<f64>,
    seed: Option<u64>,
    expires_in: Option<i64>,
}

/// `POST /_emu/faults`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct FaultsAdded {
    #[schema(example = "ok")]
    status: String,
    /// The new rules' ids, in the order given.
    ids: Vec<u64>,
    faults: Vec<FaultListed>,
}

/// `GET /_emu/faults`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct FaultList {
    #[schema(example = "ok")]
    status: String,
    faults: Vec<FaultListed>,
}

/// A removal: how many went.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Removed {
    #[schema(example = "ok")]
    status: String,
    removed: u64,
}

/// `GET /_emu/requests`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Requests {
    #[schema(example = "ok")]
    status: String,
    count: u64,
    /// Newest first.
    requests: Vec<crate::journal::Entry>,
}

/// `POST /_emu/requests/count`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Count {
    #[schema(example = "ok")]
    status: String,
    count: u64,
}

/// `POST /_emu/f2h/keys`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct F2hKeyCreated {
    #[schema(example = "ok")]
    status: String,
    /// The key's public id.
    id: String,
    /// The full key, `f2h.<id>.<secret>`: shown here once, never again.
    key: String,
    label: String,
    capabilities: Vec<String>,
    note: String,
}

/// `DELETE /_emu/f2h/keys/{id}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct F2hKeyRevoked {
    #[schema(example = "ok")]
    status: String,
    revoked: String,
}

/// A saved snapshot.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Snapshot {
    name: String,
    /// Its size on disk.
    bytes: u64,
    /// When it was taken, in real Unix seconds.
    created: i64,
}

/// `POST /_emu/snapshots`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SnapshotTaken {
    #[schema(example = "ok")]
    status: String,
    snapshot: Snapshot,
}

/// `GET /_emu/snapshots`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Snapshots {
    #[schema(example = "ok")]
    status: String,
    snapshots: Vec<Snapshot>,
}

/// `POST /_emu/snapshots/{name}/restore`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Restored {
    #[schema(example = "ok")]
    status: String,
    restored: String,
    /// The emulator clock, back at the snapshot's moment.
    now: i64,
    offset_ms: i64,
}

/// `DELETE /_emu/snapshots/{name}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SnapshotDeleted {
    #[schema(example = "ok")]
    status: String,
    deleted: String,
}

/// What `POST /_emu/faults` takes: one rule, or several (added all or none). Parsed by
/// [`crate::faults::parse_rules`]; derived here for its schema only.
#[derive(serde::Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum FaultRules {
    One(Box<crate::faults::RuleSpec>),
    Many(Vec<crate::faults::RuleSpec>),
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hostkey-emu control plane",
        description = "The emulator's own test API under /_emu/: health, reset, the clock, \
            the task queue, the outbox, billing, tickets, DNS zones, injected faults, the \
            request journal, metrics, snapshots, isolated worlds and F2HCloud keys. \
            With an admin token configured (always, when the emulator listens beyond \
            loopback), every operation needs it: click Authorize and enter the token \
            (adminToken, a bearer token). The same routes answer under a world's prefix, \
            /w/{id}/_emu/...",
    ),
    paths(
        super::health,
        super::reset,
        super::clock,
        super::advance,
        super::run_tasks,
        super::prune,
        super::outbox,
        super::pay_invoice,
        super::refund_invoice,
        super::account,
        super::tickets,
        super::ticket,
        super::dns_zone,
        super::ca_pem,
        super::tools::add_faults,
        super::tools::list_faults,
        super::tools::clear_faults,
        super::tools::remove_fault,
        super::tools::list_requests,
        super::tools::clear_requests,
        super::tools::count_requests,
        super::tools::metrics,
        super::create_f2h_key,
        super::revoke_f2h_key,
        super::snapshots::create,
        super::snapshots::list,
        super::snapshots::restore,
        super::snapshots::delete,
        super::hestia::list,
        super::hestia::one,
        super::hestia::change,
        super::scenario_schema,
        openapi_json,
        docs_page,
    ),
    components(schemas(ControlError)),
    tags(
        (name = "emulator", description = "Health, reset, the clock and the task queue"),
        (name = "inspect", description = "What the emulator did: mails, accounts, tickets, zones"),
        (name = "billing", description = "Payments and refunds of invoices"),
        (name = "faults", description = "Injected failures of the emulated APIs"),
        (name = "journal", description = "The requests the emulated APIs answered"),
        (name = "metrics", description = "Prometheus metrics"),
        (name = "snapshots", description = "Saving and restoring the whole state"),
        (name = "worlds", description = "Isolated worlds for parallel tests"),
        (name = "f2h", description = "F2HCloud scoped API keys"),
        (name = "docs", description = "This document and its Swagger UI"),
    ),
    security(("adminToken" = [])),
)]
struct ControlDoc;

/// The control plane's document, with `more` (the world routes, which live above the
/// control plane) merged in: the admin token's scheme declared, and its 401 answer added
/// to every operation that needs it.
pub fn document(more: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = ControlDoc::openapi();
    doc.merge(more);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        ADMIN_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The admin token (--admin-token, HOSTKEY_EMU_ADMIN_TOKEN, or the one the \
                     banner prints when the emulator listens beyond loopback). Not needed \
                     when none is configured.",
                ))
                .build(),
        ),
    );
    components.responses.insert(
        "Unauthorized".to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description("No admin token, or the wrong one")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ControlError")))
                        .build(),
                )
                .build(),
        ),
    );
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            // `security: [{}]` marks the public ones; the rest inherit the admin token.
            if op.security.is_none() {
                op.responses.responses.insert(
                    "401".to_owned(),
                    RefOr::Ref(Ref::from_response_name("Unauthorized")),
                );
            }
        }
    }
    doc
}

/// The paths that only the default world serves (`/_emu/worlds`): a world's document
/// leaves them out.
const DEFAULT_WORLD_ONLY: &str = "/_emu/worlds";

/// The routes of the document and its page (public; see the module's header): `doc` is
/// the whole control plane's document ([`document`]).
pub fn routes(document: fn() -> utoipa::openapi::OpenApi) -> Router<AppState> {
    // Built and serialised on the first request, not when the router is made: building it
    // is a large part of what a start (or a new world) would otherwise spend, for a page
    // few runs ask for. A world's copy differs in two places only.
    let doc: Arc<OnceLock<Arc<Value>>> = Arc::default();
    Router::new()
        .route(
            "/_emu/openapi.json",
            get(move |original: OriginalUri, uri: Uri| {
                let doc = doc
                    .get_or_init(|| Arc::new(serde_json::to_value(document()).unwrap_or_default()))
                    .clone();
                async move { openapi_json(doc, original, uri) }
            }),
        )
        .route("/_emu/docs", get(docs_page))
        .route(
            &format!("/_emu/docs/{}", swagger::CSS_FILE),
            get(swagger::css),
        )
        .route(
            &format!("/_emu/docs/{}", swagger::BUNDLE_FILE),
            get(swagger::bundle),
        )
}

/// The prefix a request came under (`/w/3` for `/w/3/_emu/openapi.json`), or `""`: what
/// the world's router took off the path the client asked for.
fn prefix_of(original: &Uri, uri: &Uri) -> String {
    original
        .path()
        .strip_suffix(uri.path())
        .unwrap_or("")
        .to_owned()
}

/// The OpenAPI 3.1 document of the control plane.
#[utoipa::path(
    get,
    path = "/_emu/openapi.json",
    tag = "docs",
    operation_id = "openapi",
    summary = "This OpenAPI document",
    description = "Public. Under a world, its servers entry is the world's prefix and the \
        world routes are left out.",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value)),
)]
fn openapi_json(doc: Arc<Value>, OriginalUri(original): OriginalUri, uri: Uri) -> Response {
    let prefix = prefix_of(&original, &uri);
    if prefix.is_empty() {
        return Json(doc.as_ref()).into_response();
    }
    let mut doc = doc.as_ref().clone();
    doc["servers"] = json!([{"url": prefix, "description": "this world"}]);
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.retain(|path, _| !path.starts_with(DEFAULT_WORLD_ONLY));
    }
    if let Some(tags) = doc["tags"].as_array_mut() {
        tags.retain(|t| t["name"] != "worlds");
    }
    Json(doc).into_response()
}

/// Swagger UI's page on the document; its URLs are relative, so a world's page loads the
/// world's document.
#[utoipa::path(
    get,
    path = "/_emu/docs",
    tag = "docs",
    operation_id = "docs",
    summary = "Swagger UI on this document",
    description = "Public, served offline (no CDN). Authorize with the admin token to \
        execute operations.",
    security(()),
    responses((status = 200, description = "The page", body = String, content_type = "text/html")),
)]
async fn docs_page() -> Html<String> {
    swagger::page(
        "hostkey-emu control plane - Swagger UI",
        "openapi.json",
        "docs/",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_world_prefix_is_what_was_taken_off_the_path() {
        let p = |o: &str, u: &str| prefix_of(&o.parse().unwrap(), &u.parse().unwrap());
        assert_eq!(p("/_emu/openapi.json", "/_emu/openapi.json"), "");
        assert_eq!(p("/w/12/_emu/openapi.json", "/_emu/openapi.json"), "/w/12");
        assert_eq!(
            p("/w/12/_emu/openapi.json?x=1", "/_emu/openapi.json?x=1"),
            "/w/12"
        );
    }

    #[test]
    fn guarded_operations_answer_401_and_public_ones_do_not() {
        let doc =
            serde_json::to_value(document(utoipa::openapi::OpenApi::default())).expect("json");
        assert_eq!(
            doc["paths"]["/_emu/health"]["get"]["responses"]["401"]["$ref"],
            "#/components/responses/Unauthorized"
        );
        for public in ["/_emu/ca.pem", "/_emu/openapi.json", "/_emu/docs"] {
            let op = &doc["paths"][public]["get"];
            assert_eq!(op["security"], json!([{}]), "{public}");
            assert!(op["responses"]["401"].is_null(), "{public}");
        }
        assert_eq!(doc["security"], json!([{ADMIN_SCHEME: []}]));
        let scheme = &doc["components"]["securitySchemes"][ADMIN_SCHEME];
        assert_eq!(
            (&scheme["type"], &scheme["scheme"]),
            (&json!("http"), &json!("bearer"))
        );
    }
}
