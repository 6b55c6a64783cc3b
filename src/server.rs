//! The HTTP endpoint: `/metrics` (or the configured telemetry path),
//! `/healthz`, the live page at `/` with its `/events` stream, and the JSON
//! API at `/api/v1/meters` (see [`crate::web`]).
//!
//! Every response is computed synchronously from the meters' state, which
//! sits behind a `std::sync::Mutex` held only while copying, so a scrape
//! never waits on a serial read. The endpoint is exposed on home networks,
//! so it guards itself against slow or broken clients: a deadline for the
//! request head (a client that connects and sends nothing is dropped), a
//! cap on the head's size, a maximum lifetime per connection and a cap on
//! open connections.
//!
//! [`serve`] takes its shutdown signal as a future (as mini-redis does), so
//! tests can pass their own; open connections then get a bounded grace
//! period to finish the response they are writing.

use crate::metrics::{Format, Metrics, MetricsOptions};
use crate::state::Meters;
use crate::web::{self, EventBody, StreamOptions};
use crate::webconfig::WebConfig;
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::header::{
    HeaderValue, ACCEPT, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_TYPE,
    WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// What the server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Path of the exposition (`--web.telemetry-path`), `/metrics` by default;
    /// a missing leading `/` is added.
    pub telemetry_path: String,
    /// Staleness and label options of the exposition (also used by `/healthz`).
    pub metrics: MetricsOptions,
    /// TLS and basic auth from `--web.config.file` ([`WebConfig::load`]);
    /// `None` serves plain HTTP to anyone.
    pub web: Option<WebConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            telemetry_path: "/metrics".to_owned(),
            metrics: MetricsOptions::default(),
            web: None,
        }
    }
}

/// Bounds that keep slow or broken clients from holding the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// A client must send its whole request head within this time after
    /// connecting (or after the previous response on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// A connection is closed (gracefully, after the response in progress)
    /// once it is this old; scrapers simply reconnect.
    pub connection_timeout: Duration,
    /// Connections beyond this wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Largest request head accepted; larger ones get 431.
    pub max_header_bytes: usize,
    /// How long open connections may take to finish once shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            connection_timeout: Duration::from_secs(60),
            max_connections: 256,
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Serves HTTP on `listener` until `shutdown` resolves, with the default [`Limits`].
///
/// Returns once the listener is closed and open connections have finished
/// or were cut off after the grace period. Accept errors (such as running
/// out of file descriptors) are logged and retried, never fatal.
pub async fn serve(
    listener: TcpListener,
    meters: Meters,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(listener, meters, cfg, Limits::default(), shutdown).await
}

/// [`serve`] with explicit [`Limits`] (tests use short timeouts).
pub async fn serve_with_limits(
    listener: TcpListener,
    meters: Meters,
    cfg: ServerConfig,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    // An event stream ends before its connection's lifetime does, so the
    // browser reconnects cleanly instead of seeing the connection cut.
    let lifetime =
        limits.connection_timeout - (limits.connection_timeout / 10).min(Duration::from_secs(1));
    let app = Arc::new(App::new(meters, cfg, stop_rx.clone(), lifetime));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        let accept = async {
            // Cancel-safe: both the permit and `accept` can be dropped unused.
            let permit = permits.clone().acquire_owned().await;
            (permit, listener.accept().await)
        };
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(done) = conns.join_next(), if !conns.is_empty() => {
                if let Err(e) = done {
                    tracing::error!("connection task failed: {e}");
                }
            }
            (permit, accepted) = accept => {
                let Ok(permit) = permit else { break }; // the semaphore is never closed
                let (stream, peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // Usually EMFILE: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let http = http.clone();
                let limits = limits.clone();
                let stop = stop_rx.clone();
                let tls = app.cfg.web.as_ref().and_then(|w| w.tls()).cloned();
                conns.spawn(async move {
                    let _permit = permit;
                    let Some(tls) = tls else {
                        return connection(TokioIo::new(stream), peer, app, http, limits, stop).await;
                    };
                    // The handshake counts against the request-head deadline.
                    match tokio::time::timeout(limits.header_read_timeout, tls.accept(stream)).await {
                        Ok(Ok(s)) => connection(TokioIo::new(s), peer, app, http, limits, stop).await,
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }

    drop(listener);
    let _ = stop_tx.send(true);
    let drain = async { while conns.join_next().await.is_some() {} };
    let bound = limits.shutdown_grace + Duration::from_millis(500);
    if tokio::time::timeout(bound, drain).await.is_err() {
        tracing::warn!(
            open = conns.len(),
            "closing connections still open after the grace period"
        );
        conns.shutdown().await;
    }
    Ok(())
}

/// Serves one connection (plain or TLS) until it ends, its lifetime is up
/// or the server stops.
async fn connection<I>(
    io: I,
    peer: std::net::SocketAddr,
    app: Arc<App>,
    http: http1::Builder,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(req).await) }
    });
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    // The guard `wait_for` returns must not live across an await.
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = tokio::time::sleep(limits.connection_timeout) => {
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(limits.shutdown_grace, conn.as_mut()).await.unwrap_or(Ok(()))
        }
        () = stopped => {
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(limits.shutdown_grace, conn.as_mut()).await.unwrap_or(Ok(()))
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, "connection closed: {e}");
    }
}

/// The routes, with everything they need; shared by all connections.
#[derive(Debug)]
struct App {
    metrics: Metrics,
    meters: Meters,
    cfg: ServerConfig,
    /// The live page, with the exposition's path filled in.
    page: String,
    /// Ends the event streams at shutdown.
    stop: watch::Receiver<bool>,
    stream: StreamOptions,
}

type Body = Either<Full<Bytes>, EventBody>;

const TEXT: &str = "text/plain; charset=utf-8";

impl App {
    fn new(
        meters: Meters,
        mut cfg: ServerConfig,
        stop: watch::Receiver<bool>,
        stream_lifetime: Duration,
    ) -> App {
        if !cfg.telemetry_path.starts_with('/') {
            cfg.telemetry_path.insert(0, '/');
        }
        App {
            metrics: Metrics::new(meters.clone(), cfg.metrics.clone()),
            page: web::page_template(&cfg.telemetry_path),
            stream: StreamOptions {
                stale_after: cfg.metrics.stale_after,
                lifetime: stream_lifetime,
                keepalive: Duration::from_secs(15),
            },
            meters,
            cfg,
            stop,
        }
    }

    /// Basic auth (when configured), then the route.
    async fn handle<B>(&self, req: Request<B>) -> Response<Body> {
        if let Some(web) = &self.cfg.web {
            if !web.authorize(req.headers().get(AUTHORIZATION)).await {
                let mut r = reply(StatusCode::UNAUTHORIZED, TEXT, "Unauthorized\n");
                r.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                return r;
            }
        }
        self.respond(&req)
    }

    fn respond<B>(&self, req: &Request<B>) -> Response<Body> {
        let path = req.uri().path();
        let route = if path == self.cfg.telemetry_path {
            Route::Metrics
        } else if path == "/healthz" {
            Route::Health
        } else if path == "/" {
            // Only reached when the telemetry path is not `/`.
            Route::Page
        } else if path == "/api/v1/meters" {
            Route::Api
        } else if path == "/events" {
            Route::Events
        } else {
            return reply(StatusCode::NOT_FOUND, TEXT, "not found\n");
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET and HEAD\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        match route {
            Route::Metrics => {
                let format = if wants_openmetrics(req.headers().get_all(ACCEPT)) {
                    Format::OpenMetrics
                } else {
                    Format::Text004
                };
                reply(
                    StatusCode::OK,
                    format.content_type(),
                    self.metrics.render(format),
                )
            }
            Route::Health => {
                let stale = self.stale_meters();
                if stale.is_empty() {
                    reply(StatusCode::OK, TEXT, "ok\n")
                } else {
                    let body = format!("stale: {}\n", stale.join(", "));
                    reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, body)
                }
            }
            Route::Page => {
                let mut r = reply(
                    StatusCode::OK,
                    "text/html; charset=utf-8",
                    web::page(&self.page, &self.meters, self.cfg.metrics.stale_after),
                );
                r.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            }
            Route::Api => {
                let mut r = reply(
                    StatusCode::OK,
                    "application/json",
                    web::meters_json(&self.meters, self.cfg.metrics.stale_after),
                );
                r.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r
            }
            Route::Events => {
                let body = web::event_stream(&self.meters, self.stream.clone(), self.stop.clone());
                let mut r = Response::new(Either::Right(body));
                let h = r.headers_mut();
                h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                // Its own connection: the stream ends just before the
                // connection's lifetime, which then counts from its start.
                h.insert(CONNECTION, HeaderValue::from_static("close"));
                r
            }
        }
    }

    /// Names of the meters without a valid telegram within `stale_after`.
    fn stale_meters(&self) -> Vec<&str> {
        let now = Instant::now();
        self.meters
            .iter()
            .filter(|m| {
                !m.lock()
                    .is_fresh(now, m.stale_after_or(self.cfg.metrics.stale_after))
            })
            .map(|m| m.name())
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Route {
    Metrics,
    Health,
    Page,
    Api,
    Events,
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Either::Left(Full::new(body.into())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// OpenMetrics only when the client lists `application/openmetrics-text`
/// with a quality at least that of plain text; everyone else (browsers,
/// curl, promtool) gets text 0.0.4.
fn wants_openmetrics<'h>(accept: impl IntoIterator<Item = &'h HeaderValue>) -> bool {
    let (mut openmetrics, mut text) = (0.0_f32, 0.0_f32);
    let ranges = accept
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for range in ranges {
        let mut params = range.split(';');
        let media = params.next().unwrap_or_default().trim();
        let q = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse().unwrap_or(0.0));
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            openmetrics = openmetrics.max(q);
        } else if ["text/plain", "text/*", "*/*"]
            .iter()
            .any(|m| media.eq_ignore_ascii_case(m))
        {
            text = text.max(q);
        }
    }
    openmetrics > 0.0 && openmetrics >= text
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_app(cfg: ServerConfig) -> App {
        let (_, stop) = watch::channel(false);
        App::new(Meters::default(), cfg, stop, Duration::from_secs(60))
    }

    fn accept(v: &'static str) -> bool {
        wants_openmetrics([&HeaderValue::from_static(v)])
    }

    #[test]
    fn negotiates_openmetrics_only_when_asked() {
        assert!(!wants_openmetrics([]));
        assert!(!accept("text/plain"));
        assert!(!accept("*/*"));
        assert!(accept("application/openmetrics-text"));
        // What Prometheus sends.
        assert!(accept(
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        ));
        assert!(!accept(
            "text/plain;q=1, application/openmetrics-text;q=0.5"
        ));
        assert!(!accept("application/openmetrics-text;q=0"));
        assert!(accept("Application/OpenMetrics-Text; Q=0.9"));
    }

    #[test]
    fn routes_and_methods() {
        let app = new_app(ServerConfig::default());
        let get = |path: &str, method: Method| {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .body(())
                .unwrap_or_default();
            app.respond(&req).status()
        };
        assert_eq!(get("/metrics", Method::GET), StatusCode::OK);
        assert_eq!(get("/metrics", Method::HEAD), StatusCode::OK);
        assert_eq!(
            get("/metrics", Method::POST),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(get("/healthz", Method::GET), StatusCode::OK);
        assert_eq!(get("/", Method::GET), StatusCode::OK);
        assert_eq!(get("/nope", Method::GET), StatusCode::NOT_FOUND);
        assert_eq!(get("/nope", Method::DELETE), StatusCode::NOT_FOUND);

        let cfg = ServerConfig {
            telemetry_path: "probe".to_owned(),
            ..ServerConfig::default()
        };
        let app = new_app(cfg);
        let req = Request::builder()
            .uri("/probe")
            .body(())
            .unwrap_or_default();
        assert_eq!(app.respond(&req).status(), StatusCode::OK);
    }

    #[test]
    fn escapes_names_in_the_landing_page() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
