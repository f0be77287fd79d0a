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
    /// Static NAT to IPMI asked for a virtual machine, which has no IPMI.
    #[error("server {server} is a virtual machine without IPMI")]
    VmWithoutIpmi { server: i64 },
    /// Static NAT to IPMI asked for a server without IPMI (remote hands can attach a KVM).
    #[error("server {server} has no IPMI")]
    NoIpmi { server: i64 },
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
