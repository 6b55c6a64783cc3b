//! The HTTP endpoint: `/metrics` (or the configured telemetry path),
//! `/healthz` and a landing page at `/`.
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
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::fmt::Write as _;
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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            telemetry_path: "/metrics".to_owned(),
            metrics: MetricsOptions::default(),
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
    let app = Arc::new(App::new(meters, cfg));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
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
                let mut stop = stop_rx.clone();
                conns.spawn(async move {
                    let _permit = permit;
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let response = app.respond(&req);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let conn = http.serve_connection(TokioIo::new(stream), service);
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

/// The routes, with everything they need; shared by all connections.
#[derive(Debug)]
struct App {
    metrics: Metrics,
    meters: Meters,
    cfg: ServerConfig,
}

type Body = Full<Bytes>;

const TEXT: &str = "text/plain; charset=utf-8";

impl App {
    fn new(meters: Meters, mut cfg: ServerConfig) -> App {
        if !cfg.telemetry_path.starts_with('/') {
            cfg.telemetry_path.insert(0, '/');
        }
        App {
            metrics: Metrics::new(meters.clone(), cfg.metrics.clone()),
            meters,
            cfg,
        }
    }

    fn respond<B>(&self, req: &Request<B>) -> Response<Body> {
        let path = req.uri().path();
        let route = if path == self.cfg.telemetry_path {
            Route::Metrics
        } else if path == "/healthz" {
            Route::Health
        } else if path == "/" {
            // Only reached when the telemetry path is not `/`.
            Route::Landing
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
            Route::Landing => reply(StatusCode::OK, "text/html; charset=utf-8", self.landing()),
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

    fn landing(&self) -> String {
        let now = Instant::now();
        let path = escape_html(&self.cfg.telemetry_path);
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>DSMR exporter</title></head>\n\
             <body>\n<h1>DSMR exporter</h1>\n<p>Version {}</p>\n<ul>\n\
             <li><a href=\"{path}\">Metrics</a></li>\n<li><a href=\"/healthz\">Health</a></li>\n</ul>\n\
             <h2>Meters</h2>\n<ul>\n",
            env!("CARGO_PKG_VERSION"),
        );
        for m in self.meters.iter() {
            let st = m.lock();
            let status = if st.is_fresh(now, m.stale_after_or(self.cfg.metrics.stale_after)) {
                "fresh"
            } else if st.received_at.is_some() {
                "stale"
            } else {
                "no telegram yet"
            };
            let _ = writeln!(html, "<li>{}: {status}</li>", escape_html(m.name()));
        }
        html.push_str("</ul>\n</body>\n</html>\n");
        html
    }
}

#[derive(Debug, Clone, Copy)]
enum Route {
    Metrics,
    Health,
    Landing,
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
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

fn escape_html(s: &str) -> String {
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
        let app = App::new(Meters::default(), ServerConfig::default());
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
        let app = App::new(Meters::default(), cfg);
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
