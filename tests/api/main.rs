//! The one integration-test binary: every file starts the real server and speaks HTTP.

mod api_keys;
mod auth;
mod callbacks;
mod eq;
mod helpers;
mod ip;
mod isolation;
mod nat;
mod net;
mod requests;
mod restart;
mod tags;
