//! The HTTP side: what Prometheus and a browser see.
//!
//! - [`server`]: the listener (plain or TLS), its limits against slow
//!   clients, and graceful shutdown.
//! - [`routes`]: which path gets which answer, behind basic auth; what the
//!   server serves ([`ServerConfig`]).
//! - [`listen`]: the listening sockets: bound addresses or systemd's.
//! - [`accept`]: the `Accept` header of a scrape: OpenMetrics or text, with
//!   version and escaping; [`compress`]: gzip when the scraper takes it.
//! - [`webconfig`]: `--web.config.file` (exporter-toolkit format), checked
//!   as text then loaded; [`reload`] re-reads it when it changes; [`tls`]
//!   builds its TLS acceptor (with [`client_auth`] for client
//!   certificates), [`basic_auth`] checks its users on every request and
//!   [`headers`] holds the headers it adds.
//! - [`page`]: the live page at `/`.
//! - [`events`]: its Server-Sent Events at `/events`.
//! - [`lifecycle`]: the handle `POST /-/reload` asks for a reload through.
//! - [`api`]: the JSON API at `/api/v1/meters`, the document per meter that
//!   the page and the events show too.
//!
//! Edges: reads meters from [`crate::state`] and renders `/metrics` with
//! [`crate::metrics`]; imports nothing else of the crate, and only `main`
//! imports it. Inside, imports run
//! server -> listen, routes -> accept, compress, page / events -> api, and
//! routes -> reload -> webconfig -> tls -> client_auth, basic_auth,
//! headers; no module imports this one.

pub mod accept;
pub mod api;
pub mod basic_auth;
mod client_auth;
pub mod compress;
mod cost_doc;
pub mod events;
pub mod headers;
pub mod lifecycle;
pub mod listen;
pub mod page;
mod reload;
pub mod routes;
pub mod server;
pub mod tls;
pub mod webconfig;

pub use lifecycle::{Lifecycle, ReloadRequest};
pub use routes::ServerConfig;
pub use server::{serve, serve_listeners, serve_with_limits, Limits};
pub use webconfig::{CheckedWebConfig, WebConfig, WebConfigError};
