//! The one integration-test binary: every file starts the real server and speaks HTTP.

mod admin;
mod api_keys;
mod auth;
mod callbacks;
mod catalogue;
mod docs;
mod eq;
mod faces;
mod fuzz;
mod helpers;
mod ip;
mod isolation;
mod jira;
mod nat;
mod net;
mod order;
mod pinned;
mod precedence;
mod reinstall;
mod remote;
mod requests;
mod restart;
mod tags;
mod wire;
