//! The HOSTKEY InvAPI protocol layer: one file per `*.php` module, the request extractor
//! (`Call`), argument helpers, session checks, and the envelopes of `decisions.md` §2-3.
//! The core (store, sim, tasks) knows nothing of these shapes.

pub mod api_keys;
pub mod args;
pub mod auth;
pub mod callback;
pub mod catalogue;
pub mod dispatch;
pub mod eq;
pub mod ip;
pub mod iso;
pub mod jenkins;
pub mod jira;
pub mod license;
pub mod location;
pub mod nat;
pub mod net;
pub mod os;
pub mod pdns;
pub mod presets;
pub mod rhr;
pub mod s3;
pub mod software;
pub mod ssh_keys;
pub mod stocks;
pub mod tags;
pub mod traffic_plans;
pub mod vm;
pub mod whmcs;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::{AccountOnly, Error};
use crate::http::php_form::{FormError, Params};
use crate::state::AppState;

/// Every implemented module, each declared once in its own file.
pub static MODULES: &[&dispatch::Module] = &[
    &auth::MODULE,
    &api_keys::MODULE,
    &eq::MODULE,
    &tags::MODULE,
    &net::MODULE,
    &ip::MODULE,
    &nat::MODULE,
    &presets::MODULE,
    &os::MODULE,
    &software::MODULE,
    &traffic_plans::MODULE,
    &stocks::MODULE,
    &jenkins::MODULE,
    &jira::MODULE,
    &ssh_keys::MODULE,
    &location::MODULE,
    &license::MODULE,
    &whmcs::MODULE,
    &rhr::MODULE,
    &vm::MODULE,
    &iso::MODULE,
    &callback::EQ_MODULE,
    &callback::NAT_MODULE,
    &pdns::MODULE,
    &s3::MODULE,
];

/// Routes of every implemented module: `/<name>.php`, any method, one dispatcher.
pub fn routes() -> Router<AppState> {
    MODULES.iter().fold(Router::new(), |router, module| {
        router.route(&module.path(), any(dispatch::handler(module)))
    })
}

/// One InvAPI request: its merged parameters and where it came from.
#[derive(Debug)]
pub struct Call {
    pub params: Params,
    pub client_ip: IpAddr,
    /// `Host` header, for URLs that must point at the emulator itself.
    pub host: String,
    /// The client asked for a fresh answer (`Cache-Control: no-cache`): a pure action's
    /// remembered answer is not used.
    pub bypass_cache: bool,
}

impl Call {
    /// The requested action ('' when missing).
    pub fn action(&self) -> &str {
        self.params.get("action").map(str::trim).unwrap_or("")
    }
}

/// Rejection of a request whose parameters cannot be read.
pub struct Rejection(Response);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.0
    }
}

impl FromRequest<AppState> for Call {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let client_ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        let bypass_cache = req
            .headers()
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
            });
        // The module's name is only needed for a refusal; the URI is shared, not copied.
        let uri = req.uri().clone();
        let module = || module_of(&uri);
        match Params::from_request_parts(req, state.config.body_limit).await {
            Ok(params) => Ok(Call { params, client_ip, host, bypass_cache }),
            Err(FormError::TooLarge(limit)) => Err(Rejection(
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Json(json!({"result": -1, "error": format!("{}: request body too large (limit {limit} bytes)", module())})),
                )
                    .into_response(),
            )),
            // A body that did not arrive whole is an HTTP-level failure; one that arrived
            // but does not parse is an API-level error, HTTP 200 like every other.
            Err(e @ FormError::Broken(_)) => Err(Rejection(
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"result": -1, "error": format!("{}: {e}", module())})),
                )
                    .into_response(),
            )),
            Err(e) => Err(Rejection(Json(json!({"result": -1, "error": format!("{}: {e}", module())})).into_response())),
        }
    }
}

fn module_of(uri: &Uri) -> String {
    uri.path()
        .trim_start_matches('/')
        .trim_end_matches(".php")
        .chars()
        .take(40)
        .collect()
}

/// Turns an action's result into the HTTP 200 response of the InvAPI.
pub fn respond(module: &str, action: &str, result: Result<Value, Error>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => Json(error_body(module, action, e)).into_response(),
    }
}

/// An action's result rendered as `respond` would send it, as bytes (for answers that are
/// remembered).
pub fn render(module: &str, action: &str, result: Result<Value, Error>) -> bytes::Bytes {
    let value = match result {
        Ok(v) => v,
        Err(e) => error_body(module, action, e),
    };
    // A `Value` always serialises (its keys are strings).
    serde_json::to_vec(&value).unwrap_or_default().into()
}

/// The one error shape: `{"result":-1,"error":"<module>/<action>: <reason>"}`.
pub fn error_body(module: &str, action: &str, e: Error) -> Value {
    let text = match e {
        Error::InvalidToken => "auth: invalid token".to_owned(),
        Error::InvalidApiKey(masked) => format!("Invalid API key {masked}"),
        Error::UnknownAction(a) if a.is_empty() => format!("{module}: missing action"),
        Error::UnknownAction(a) => format!("{module}: unknown action {}", truncate(&a, 64)),
        Error::Verbatim(s) => s,
        Error::Internal(detail) => {
            tracing::error!(module, action, detail = %detail, "internal error");
            "internal error".to_owned()
        }
        Error::Invalid(m) | Error::NotFound(m) | Error::Denied(m) | Error::Conflict(m) => {
            format!("{module}/{action}: {m}")
        }
        // Server operations of eq.php: 001's wording (and where it points the customer).
        Error::InstallRunning { server } => {
            format!("another reinstall in progress for {server}, please wait")
        }
        Error::NoRemoteControl { server, jira_action } => format!(
            "{module}/{action}: server {server} has no remote control, please request remote hands with jira.php action={jira_action}"
        ),
        Error::NoRemoteBoot { server, what } => format!(
            "{module}/{action}: server {server} has no remote control, {what} needs remote hands (jira.php action=request_PXEboot)"
        ),
        // nat.php words the two IPMI refusals its own way (static NAT leads to the IPMI
        // web console only).
        Error::NoIpmi { server, .. } if module == "nat" => format!(
            "{module}/{action}: server {server} has no IPMI, request KVM from remote hands with jira.php action=request_kvm"
        ),
        Error::VmWithoutIpmi { server } if module == "nat" => format!(
            "{module}/{action}: server {server} is a virtual machine without IPMI, use eq/console for its console"
        ),
        Error::NoIpmi { server, what } => format!(
            "{module}/{action}: server {server} has no IPMI, {what} is not possible; request remote hands with jira.php action=request_kvm"
        ),
        Error::VmWithoutIpmi { server } => format!(
            "{module}/{action}: server {server} is a virtual machine without IPMI, use eq/console or eq/novnc"
        ),
        Error::NotVm { server } => format!(
            "{module}/{action}: server {server} is not a virtual machine; use eq/novnc, or nat/add_static_nat with an IPMI user"
        ),
        Error::NoRemoteConsole { server } => format!(
            "{module}/{action}: server {server} has no remote console; request KVM with jira.php action=request_kvm"
        ),
        Error::NotMasterKey => format!(
            "{module}/{action}: reinstall_key is not the master key of this server, call eq/reinstall first"
        ),
        Error::UnknownOs { os_id } => {
            format!("{module}/{action}: os_id {os_id} not found, see os/list")
        }

        // Account-level operations (tags, API keys, the PIN, remote hands).
        Error::InternalTag { tag, removal } => format!(
            "{module}/{action}: permission denied, tag {tag} is internal and cannot be {}",
            if removal { "removed" } else { "changed" }
        ),
        Error::TagNotFound { tag, server } => {
            format!("{module}/{action}: tag {tag} not found on server {server}")
        }
        Error::ApiKeyNotFound { id } => format!("{module}/{action}: api key {id} not found"),
        Error::AccountOnly { server, what } => format!(
            "{module}/{action}: {}",
            match what {
                AccountOnly::ReadKeys => {
                    "permission denied, a per-server key cannot read account keys".to_owned()
                }
                AccountOnly::CreateKeys => {
                    "permission denied, a per-server key cannot create account keys".to_owned()
                }
                AccountOnly::Pin => format!(
                    "permission denied, the account PIN code cannot be managed with the API key of server {server}"
                ),
                AccountOnly::SshKeys => {
                    "permission denied, a per-server key cannot manage the account's SSH keys"
                        .to_owned()
                }
                AccountOnly::Billing => {
                    "permission denied, a per-server key cannot manage the account's billing"
                        .to_owned()
                }
            }
        ),

        // Network operations.
        Error::AdminPortBlock => format!(
            "{module}/{action}: admin ban could not be lifted this way, please contact support or abuse team."
        ),
        Error::AdminIpBlock { ip } => format!(
            "{module}/{action}: permission denied to remove block for {ip}. Please contact support."
        ),
        Error::MainAddressInUse { server, ip } => format!(
            "{module}/{action}: {ip} is the main address of server {server}; make another address main with ip/set_main first"
        ),
    };
    json!({"result": -1, "error": text})
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Answer for a path that is no InvAPI module.
pub async fn unknown_module(uri: Uri) -> Response {
    let path: String = uri.path().chars().take(80).collect();
    (
        StatusCode::NOT_FOUND,
        Json(json!({"result": -1, "error": format!("unknown module {path}")})),
    )
        .into_response()
}

/// A panic in a handler (a bug) still answers with the error envelope.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    Json(json!({"result": -1, "error": "internal error"})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole InvAPI surface, one line per module: removing (or renaming) an action by
    /// accident fails here; adding one means adding it here too.
    #[test]
    fn the_surface_is_every_module_and_action_declared() {
        let surface: Vec<String> = MODULES
            .iter()
            .map(|m| {
                let actions: Vec<String> = m
                    .actions
                    .iter()
                    .map(|a| match a.access {
                        dispatch::Access::Public => format!("{}*", a.name),
                        dispatch::Access::Session => a.name.to_owned(),
                    })
                    .collect();
                format!("{}: {}", m.path(), actions.join(" "))
            })
            .collect();
        let expected = [
            "/auth.php: login* whmcslogin* logout info billing_list",
            "/api_keys.php: list list_for_server view add edit delete history",
            "/eq.php: set_pin check_pin list show update_servers status sensors on off hard_off \
             reboot rename_server order_instance deploy reinstall create_pxe boot_dev clear_pxe \
             add_ipmi_user remove_ipmi_user unit_reset console novnc recreate_novnc stop_novnc \
             unified_server_search suspend unsuspend",
            "/tags.php: list add remove user_search search search_user",
            "/net.php: get_status port_off port_on block_ip unblock_ip add_ipv4 remove_ipv4 \
             show_ipv4_free show_cacti",
            "/ip.php: get_ip get_ptr update_ptr set_main get_client_ip list_free_ip get_traffic",
            "/nat.php: add_static_nat remove_static_nat clear_static_nat drop_nat",
            "/presets.php: list* show* search* info* groups*",
            "/os.php: list*",
            "/software.php: list*",
            "/traffic_plans.php: list*",
            "/stocks.php: list* show*",
            "/jenkins.php: get_tasks* call",
            "/jira.php: request_pon request_poff request_reboot request_PXEboot request_kvm \
             request_check request_assistance",
            "/ssh_keys.php: list add delete",
            "/location.php: list",
            "/license.php: list",
            "/whmcs.php: get_client update_client reset_password get_contacts add_contact \
             update_contact delete_contact create_addfunds create_addfundst getpaymentgw \
             get_billing_data getcredits getcredit generate_due_invoice transactions mass_pay \
             download_invoice get_related_invoices apply_credit get_invoice get_invoices \
             request_cancellation delete_cancellation_request get_cancellation_requests \
             get_product_invoice",
            "/rhr.php: list add chat discard",
            "/vm.php: get_snapshot create_snapshot restore_snapshot remove_snapshot load_stats \
             get_engine",
            "/iso.php: list_iso uploaded upload add mount_iso unmount_iso delete",
            "/eq_callback.php: check*",
            "/nat_callback.php: check*",
            "/pdns.php: list_domains add_domain delete_domain list_subdomains add_subdomain \
             edit_subdomain delete_subdomain list_zones view_zone add_zone delete_zone add_dns \
             delete_dns",
            "/s3.php: list_plans* get_available_locations* create_account create_order show_key \
             get_users get_buckets get_buckets_rmq create_bucket delete_bucket get_files \
             delete_file update_traffic_info delete_account delete_payment_account \
             cancel_payment_account_deletion",
        ];
        assert_eq!(surface, expected, "(* = no token needed)");
    }

    /// The network operations' refusals keep the wording InvAPI answered before they
    /// became variants (000 for the two blocks; the emulator's own for the others).
    #[test]
    fn network_refusals_keep_their_invapi_wording() {
        let text = |module, action, e| error_body(module, action, e)["error"].clone();
        assert_eq!(
            text("net", "port_on", Error::AdminPortBlock),
            "net/port_on: admin ban could not be lifted this way, please contact support or abuse team."
        );
        assert_eq!(
            text("net", "unblock_ip", Error::AdminIpBlock { ip: "192.168.1.1".into() }),
            "net/unblock_ip: permission denied to remove block for 192.168.1.1. Please contact support."
        );
        assert_eq!(
            text(
                "net",
                "remove_ipv4",
                Error::MainAddressInUse { server: 40101, ip: "31.207.45.23".into() }
            ),
            "net/remove_ipv4: 31.207.45.23 is the main address of server 40101; make another address main with ip/set_main first"
        );
        assert_eq!(
            text("nat", "add_static_nat", Error::VmWithoutIpmi { server: 40101 }),
            "nat/add_static_nat: server 40101 is a virtual machine without IPMI, use eq/console for its console"
        );
        assert_eq!(
            text("nat", "add_static_nat", Error::NoIpmi { server: 40105, what: "static NAT" }),
            "nat/add_static_nat: server 40105 has no IPMI, request KVM from remote hands with jira.php action=request_kvm"
        );
        assert_eq!(
            error_body(
                "nat",
                "add_static_nat",
                Error::NoIpmi {
                    server: 40105,
                    what: "static NAT"
                }
            )["result"],
            -1
        );
    }

    #[test]
    fn no_module_declares_an_action_twice() {
        for m in MODULES {
            let mut names: Vec<&str> = m.actions.iter().map(|a| a.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(names.len(), before, "{} repeats an action", m.name);
        }
    }

    /// The semantic errors of eq.php's server operations keep 001's wording: prefixed,
    /// except "another reinstall in progress", which 001 shows bare.
    #[test]
    fn server_operation_errors_keep_the_documented_wording() {
        let text = |e: Error| error_body("eq", "on", e)["error"].clone();
        assert_eq!(
            text(Error::InstallRunning { server: 7 }),
            "another reinstall in progress for 7, please wait"
        );
        assert_eq!(
            text(Error::NoRemoteControl {
                server: 7,
                jira_action: "request_pon"
            }),
            "eq/on: server 7 has no remote control, please request remote hands with jira.php action=request_pon"
        );
        assert_eq!(
            text(Error::NoRemoteBoot {
                server: 7,
                what: "PXE boot"
            }),
            "eq/on: server 7 has no remote control, PXE boot needs remote hands (jira.php action=request_PXEboot)"
        );
        assert_eq!(
            text(Error::NoIpmi {
                server: 7,
                what: "a BMC reset"
            }),
            "eq/on: server 7 has no IPMI, a BMC reset is not possible; request remote hands with jira.php action=request_kvm"
        );
        assert_eq!(
            text(Error::VmWithoutIpmi { server: 7 }),
            "eq/on: server 7 is a virtual machine without IPMI, use eq/console or eq/novnc"
        );
        assert_eq!(
            text(Error::NotVm { server: 7 }),
            "eq/on: server 7 is not a virtual machine; use eq/novnc, or nat/add_static_nat with an IPMI user"
        );
        assert_eq!(
            text(Error::NoRemoteConsole { server: 7 }),
            "eq/on: server 7 has no remote console; request KVM with jira.php action=request_kvm"
        );
        assert_eq!(
            text(Error::NotMasterKey),
            "eq/on: reinstall_key is not the master key of this server, call eq/reinstall first"
        );
        assert_eq!(
            text(Error::UnknownOs { os_id: 9 }),
            "eq/on: os_id 9 not found, see os/list"
        );
    }

    /// The account-level operations' errors keep 001's wording, prefixed as before.
    #[test]
    fn account_errors_render_in_the_apis_words() {
        use crate::error::AccountOnly;
        let text = |m, a, e| {
            error_body(m, a, e)["error"]
                .as_str()
                .expect("text")
                .to_owned()
        };
        let tag = || "billing_product_id".to_owned();
        assert_eq!(
            text(
                "tags",
                "add",
                Error::InternalTag {
                    tag: tag(),
                    removal: false
                }
            ),
            "tags/add: permission denied, tag billing_product_id is internal and cannot be changed"
        );
        assert_eq!(
            text("tags", "remove", Error::InternalTag { tag: tag(), removal: true }),
            "tags/remove: permission denied, tag billing_product_id is internal and cannot be removed"
        );
        assert_eq!(
            text(
                "tags",
                "remove",
                Error::TagNotFound {
                    tag: "ref".into(),
                    server: 40102
                }
            ),
            "tags/remove: tag ref not found on server 40102"
        );
        assert_eq!(
            text("api_keys", "view", Error::ApiKeyNotFound { id: 7 }),
            "api_keys/view: api key 7 not found"
        );
        let only = |what| Error::AccountOnly {
            server: 40101,
            what,
        };
        assert_eq!(
            text("api_keys", "view", only(AccountOnly::ReadKeys)),
            "api_keys/view: permission denied, a per-server key cannot read account keys"
        );
        assert_eq!(
            text("api_keys", "add", only(AccountOnly::CreateKeys)),
            "api_keys/add: permission denied, a per-server key cannot create account keys"
        );
        assert_eq!(
            text("eq", "set_pin", only(AccountOnly::Pin)),
            "eq/set_pin: permission denied, the account PIN code cannot be managed with the API key of server 40101"
        );
        assert_eq!(
            text("ssh_keys", "list", only(AccountOnly::SshKeys)),
            "ssh_keys/list: permission denied, a per-server key cannot manage the account's SSH keys"
        );
    }
}
