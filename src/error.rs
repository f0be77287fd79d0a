//! The one error type of the emulator's core. Its messages are protocol-neutral; each
//! protocol layer (today `invapi`) turns it into its own envelope. Internal failures keep
//! their detail for the log and show clients only "internal error".

/// What went wrong with a request, in words a client may see.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed or breaks a rule; the text says which.
    #[error("{0}")]
    Invalid(String),
    /// The thing does not exist (or is not the caller's and must not be revealed).
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this.
    #[error("{0}")]
    Denied(String),
    /// The request conflicts with the current state (e.g. a job in progress).
    #[error("{0}")]
    Conflict(String),
    /// A documented message that protocol layers pass on unprefixed.
    #[error("{0}")]
    Verbatim(String),
    /// Missing, unknown, expired or IP-mismatched session token.
    #[error("invalid token")]
    InvalidToken,
    /// A login with an API key that does not exist or may not log in; carries the masked key.
    #[error("Invalid API key {0}")]
    InvalidApiKey(String),
    /// The `action` is not one this module knows.
    #[error("unknown action {0}")]
    UnknownAction(String),
    /// A bug or a database failure; the detail is logged, never shown.
    #[error("internal error")]
    Internal(String),

    // --- Server operations of eq.php: power, the PXE path, remote access ---
    /// An install (a new order, a reinstall or the PXE installer) runs on the server; a
    /// second one waits until it is over.
    #[error("an install is already running on server {server}")]
    InstallRunning { server: i64 },
    /// A power action on a server without remote control: only remote hands can do it,
    /// asked for with this remote-hands request (`request_pon`...).
    #[error("server {server} has no remote control; remote hands ({jira_action}) can do it")]
    NoRemoteControl {
        server: i64,
        jira_action: &'static str,
    },
    /// A step of the PXE path (`what`: "a reinstall", "PXE boot"...) on a server without
    /// remote control: only remote hands can boot it from the network.
    #[error("server {server} has no remote control, {what} needs remote hands")]
    NoRemoteBoot { server: i64, what: &'static str },
    /// An IPMI action (`what`) on a bare-metal server whose BMC customers cannot reach.
    #[error("server {server} has no IPMI, {what} is not possible")]
    NoIpmi { server: i64, what: &'static str },
    /// An IPMI action on a virtual machine, which has consoles instead.
    #[error("server {server} is a virtual machine without IPMI")]
    VmWithoutIpmi { server: i64 },
    /// A VM console asked for a server that is not a virtual machine.
    #[error("server {server} is not a virtual machine")]
    NotVm { server: i64 },
    /// A browser console asked for a server without remote control (no KVM).
    #[error("server {server} has no remote console")]
    NoRemoteConsole { server: i64 },
    /// A PXE configuration sent with a key that is not the server's master key.
    #[error("the key is not the master key of this server")]
    NotMasterKey,
    /// An OS id the catalogue does not have.
    #[error("OS {os_id} not found")]
    UnknownOs { os_id: i64 },
    // Account-level operations (tags, API keys, the PIN, remote hands).
    /// The tag is the provider's (internal): customers read it, but never change
    /// (`removal == false`) or remove it.
    #[error("tag {tag} is internal")]
    InternalTag { tag: String, removal: bool },
    /// The server has no tag of that name.
    #[error("tag {tag} not found on server {server}")]
    TagNotFound { tag: String, server: i64 },
    /// The account has no API key with this id.
    #[error("api key {id} not found")]
    ApiKeyNotFound { id: i64 },
    /// A session opened with the per-server key of `server` asked for something that
    /// belongs to the whole account.
    #[error("the per-server key of server {server} may not do this")]
    AccountOnly { server: i64, what: AccountOnly },
    // Network operations (ports, address blocks, IPv4, static NAT): refusals whose wording
    // each face chooses (InvAPI names its own actions and modules in them).
    /// The port was switched off by the abuse team; only support can switch it on again.
    #[error("the port is blocked by the abuse team")]
    AdminPortBlock,
    /// The address's block is the abuse team's, which the customer cannot lift.
    #[error("the block on {ip} is the abuse team's")]
    AdminIpBlock { ip: String },
    /// The address is the server's main one while others remain: another must become
    /// main first.
    #[error("{ip} is the main address of server {server}")]
    MainAddressInUse { server: i64, ip: String },
}

/// What belongs to the whole account, so that a per-server key's session is refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOnly {
    /// Reading the account's keys (or another server's).
    ReadKeys,
    /// Creating a key for the whole account.
    CreateKeys,
    /// Setting or testing the account's PIN.
    Pin,
    /// Listing, adding or deleting the account's SSH keys, or naming one in an order.
    SshKeys,
    /// The account's billing profile, contacts, credit and invoices (whmcs.php).
    Billing,
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
    pub fn denied(msg: impl Into<String>) -> Self {
        Error::Denied(msg.into())
    }
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("json: {e}"))
    }
}

impl From<crate::secrets::anyhow_like::Error> for Error {
    fn from(e: crate::secrets::anyhow_like::Error) -> Self {
        Error::Internal(e.to_string())
    }
}

/// Result alias for core operations.
pub type Result<T> = std::result::Result<T, Error>;
