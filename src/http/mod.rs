//! The HTTP side: what Prometheus and a browser see.
//!
//! - [`server`]: the listener (plain or TLS), its limits against slow
//!   clients, and graceful shutdown.
//! - [`routes`]: which path gets which answer, behind basic auth; what the
//!   server serves ([`ServerConfig`]).
//! - [`auth`]: `--web.config.file` (exporter-toolkit format): TLS and basic
//!   auth in front of every route.
//! - [`page`]: the live page at `/`.
//! - [`events`]: its Server-Sent Events at `/events`.
//! - [`api`]: the JSON API at `/api/v1/meters`, the document per meter that
//!   the page and the events show too.
//!
//! Edges: reads meters from [`crate::state`] and renders `/metrics` with
//! [`crate::metrics`]; imports nothing else of the crate, and only `main`
//! imports it. Inside, imports run server -> routes -> page / events -> api.

pub mod api;
pub mod auth;
pub mod events;
pub mod page;
pub mod routes;
pub mod server;

pub use auth::{WebConfig, WebConfigError};
pub use routes::ServerConfig;
pub use server::{serve, serve_with_limits, Limits};
