//! net/show_cacti (001 "net/show_cacti"): the port's traffic graph as a PNG; graph 1 =
//! day, 2 = month, 3 = year. Read-only: drawn from `sim::traffic`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::args::{shorten, Args};
use super::super::dispatch::Ctx;
use super::super::{error_body, respond};
use super::port_ref;
use crate::error::Error;
use crate::ops::ports;

/// Why show_cacti drew no graph.
enum Cacti {
    /// The port has no graph (001's documented failure).
    NoGraph {
        id: i64,
        port: String,
    },
    Api(Error),
}

impl From<Error> for Cacti {
    fn from(e: Error) -> Self {
        Cacti::Api(e)
    }
}

impl From<sqlx::Error> for Cacti {
    fn from(e: sqlx::Error) -> Self {
        Cacti::Api(e.into())
    }
}

/// net/show_cacti as a response: the PNG, or 001's failure for a port without a graph.
pub async fn show_cacti(ctx: &Ctx) -> Response {
    match graph(ctx).await {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err(Cacti::NoGraph { id, port }) => {
            // 001's failure for a port without a graph carries the action and the
            // request's context next to the error (a superset of the one shape).
            let mut body = error_body(
                "net",
                "show_cacti",
                Error::invalid(format!(
                    "failed to load img for server {id} port {port}: failed to find cacti id for this server interface"
                )),
            );
            body["action"] = json!("show_cacti");
            body["context"] = json!({"id": id, "port": port});
            axum::Json(body).into_response()
        }
        Err(Cacti::Api(e)) => respond("net", "show_cacti", Err(e)),
    }
}

/// The PNG of the graph asked for.
async fn graph(ctx: &Ctx) -> std::result::Result<Vec<u8>, Cacti> {
    let (state, call, _) = ctx.parts()?;
    let server = ctx.server().await?;
    let id = server.id;
    ctx.pin().await?;
    let graph = call.params.opt_int("graph")?.unwrap_or(1);
    if !(1..=3).contains(&graph) {
        return Err(Error::invalid("graph must be 1 (daily), 2 (monthly) or 3 (annual)").into());
    }
    // Whatever is wrong with the port (malformed, unknown), 001 answers that it has no graph.
    let found = match port_ref(&call.params) {
        Ok(port) => ports::find(state, &server, &port).await,
        Err(e) => Err(e),
    };
    let iface = found.map_err(|_| Cacti::NoGraph {
        id,
        port: shorten(call.params.get("port").unwrap_or("")),
    })?;
    Ok(ports::traffic_graph(state, &server, &iface, graph).await?)
}
