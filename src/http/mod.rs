//! The HTTP side: what Prometheus and a browser see.
//!
//! - [`server`]: the listener (plain or TLS), its limits against slow
//!   clients, and graceful shutdown.
//! - [`routes`]: which path gets which answer, behind basic auth; what the
//!   server serves ([`ServerConfig`]).
//! - [`accept`]: the `Accept` header of a scrape: OpenMetrics or text 0.0.4.
//! - [`webconfig`]: `--web.config.file` (exporter-toolkit format), read and
//!   checked once at start; [`tls`] builds its TLS acceptor and
//!   [`basic_auth`] checks its users on every request.
//! - [`page`]: the live page at `/`.
//! - [`events`]: its Server-Sent Events at `/events`.
//! - [`api`]: the JSON API at `/api/v1/meters`, the document per meter that
//!   the page and the events show too.
//!
//! Edges: reads meters from [`crate::state`] and renders `/metrics` with
//! [`crate::metrics`]; imports nothing else of the crate, and only `main`
//! imports it. Inside, imports run
//! server -> routes -> accept, page / events -> api, and
//! routes -> webconfig -> tls, basic_auth; no module imports this one.

pub mod accept;
pub mod api;
pub mod basic_auth;
mod cost_doc;
pub mod events;
pub mod page;
pub mod routes;
pub mod server;
pub mod tls;
pub mod webconfig;

pub use routes::ServerConfig;
pub use server::{serve, serve_with_limits, Limits};
pub use webconfig::{WebConfig, WebConfigError};
