//! The one integration-test binary: every file starts the real server and speaks HTTP.

mod api_keys;
mod auth;
mod callbacks;
mod catalogue;
mod eq;
mod faces;
mod helpers;
mod ip;
mod isolation;
mod jira;
mod license;
mod location;
mod nat;
mod net;
mod order;
mod pinned;
mod precedence;
mod readcache;
mod reinstall;
mod remote;
mod requests;
mod restart;
mod retention;
mod secrets;
mod ssh_keys;
mod tags;
