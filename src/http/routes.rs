//! The routes: `/metrics` (or the configured telemetry path), the health
//! checks (`/-/healthy`, `/-/ready` as Prometheus answers them, and
//! `/healthz`), the live page at `/`, its `/events` stream and the JSON API
//! at `/api/v1/meters`, and `POST /-/reload` (with `--web.enable-lifecycle`),
//! each behind basic auth when it is configured, and every answer with the
//! web config's `http_server_config.headers`.
//!
//! A new route: a [`Route`] variant, its path in `Router::route` and its
//! answer in `Router::respond`.
//!
//! Every response is computed synchronously from the meters' state, which
//! sits behind a `std::sync::Mutex` held only while copying, so a scrape
//! never waits on a serial read.

use super::accept::negotiate;
use super::api;
use super::basic_auth::Verdict;
use super::compress::{accepts_gzip, cores, gzip_pieces, MEMBER};
use super::events::{self, EventBody, Hub, StreamOptions};
use super::lifecycle::Lifecycle;
use super::page;
use super::reload::LiveWebConfig;
use super::webconfig::WebConfig;
use crate::metrics::{Metrics, MetricsOptions};
use crate::state::{Live, Meters};
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::header::{
    HeaderValue, ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONNECTION,
    CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT, VARY, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

/// What the server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Path of the exposition (`--web.telemetry-path`), `/metrics` by default;
    /// a missing leading `/` is added.
    pub telemetry_path: String,
    /// Staleness and label options of the exposition (also used by `/healthz`).
    pub metrics: MetricsOptions,
    /// TLS, basic auth and headers from `--web.config.file`
    /// ([`WebConfig::load`], re-read when the file changes); `None` serves
    /// plain HTTP to anyone.
    pub web: Option<WebConfig>,
    /// The `process_*` series (`--web.disable-exporter-metrics` turns them off).
    pub exporter_metrics: bool,
    /// Where `POST /-/reload` asks for a reload (`--web.enable-lifecycle`);
    /// `None` answers 403, as Prometheus does.
    pub lifecycle: Option<Lifecycle>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            telemetry_path: "/metrics".to_owned(),
            metrics: MetricsOptions::default(),
            web: None,
            exporter_metrics: true,
            lifecycle: None,
        }
    }
}

/// The routes, with everything they need; shared by all connections.
#[derive(Debug)]
pub(crate) struct Router {
    metrics: Metrics,
    /// The meters now; a reload swaps the list.
    live: Live,
    cfg: ServerConfig,
    /// The web config in force (`cfg.web` is moved here).
    web: Option<Arc<LiveWebConfig>>,
    /// The live page, with the exposition's path filled in.
    page: String,
    /// Ends the event streams at shutdown.
    stop: watch::Receiver<bool>,
    stream: StreamOptions,
    /// The meters' events, built once for all `/events` readers.
    /// Rebuilt for new streams when a reload changed the meters.
    hub: std::sync::Mutex<(Meters, Arc<Hub>)>,
    /// Places for `/events` readers; one more is refused with 503.
    event_slots: Arc<Semaphore>,
}

/// A whole body, or the open-ended body of `/events`.
pub(crate) type ResponseBody = Either<Full<Bytes>, EventBody>;

const TEXT: &str = "text/plain; charset=utf-8";

/// From this many meters a scrape is rendered off the async worker (about
/// 2.5 MB of text, 10 ms).
const LARGE_SCRAPE_METERS: usize = 500;

/// The paths served besides 404.
#[derive(Debug, Clone, Copy)]
enum Route {
    Metrics,
    Health,
    Healthy,
    Ready,
    Page,
    Api,
    Events,
}

impl Router {
    /// The routes of `cfg`; event streams end after `stream_lifetime` (just
    /// before the connection's) or when `stop` turns true, and at most
    /// `max_event_streams` are open at once.
    pub(crate) fn new(
        live: Live,
        mut cfg: ServerConfig,
        stop: watch::Receiver<bool>,
        stream_lifetime: Duration,
        max_event_streams: usize,
    ) -> Router {
        if !cfg.telemetry_path.starts_with('/') {
            cfg.telemetry_path.insert(0, '/');
        }
        let web = cfg.web.take().map(LiveWebConfig::new);
        let mut metrics = Metrics::new(live.clone(), cfg.metrics.clone());
        if cfg.exporter_metrics {
            metrics = metrics.with_process_metrics();
        }
        // The event hub starts over the meters of the start; `hub()` follows reloads.
        let meters = live.meters();
        Router {
            web,
            metrics,
            page: page::page_template(&cfg.telemetry_path),
            stream: StreamOptions {
                stale_after: cfg.metrics.stale_after,
                lifetime: stream_lifetime,
                keepalive: Duration::from_secs(15),
            },
            hub: std::sync::Mutex::new((
                meters.clone(),
                Hub::new(&meters, cfg.metrics.stale_after),
            )),
            event_slots: Arc::new(Semaphore::new(max_event_streams)),
            live,
            cfg,
            stop,
        }
    }

    /// The TLS acceptor of the web config in force, if it has one.
    pub(crate) fn tls(&self) -> Option<tokio_rustls::TlsAcceptor> {
        self.web.as_ref().and_then(|w| w.get().tls().cloned())
    }

    /// The web config, to keep it current while serving.
    pub(crate) fn live_web(&self) -> Option<Arc<LiveWebConfig>> {
        self.web.clone()
    }

    /// Basic auth (when configured), then the route; the web config's
    /// headers on whatever the answer is.
    pub(crate) async fn authorize_and_respond<B>(&self, req: Request<B>) -> Response<ResponseBody> {
        let Some(web) = self.web.as_ref().map(|w| w.get()) else {
            return self.dispatch(&req).await;
        };
        let mut r = self.authorized(&web, req).await;
        web.headers().apply(r.headers_mut());
        r
    }

    /// Basic auth of `web` (a no-op without users), then the route.
    async fn authorized<B>(&self, web: &WebConfig, req: Request<B>) -> Response<ResponseBody> {
        match web.check(req.headers().get(AUTHORIZATION)).await {
            Verdict::Allowed => self.dispatch(&req).await,
            Verdict::Denied => {
                let mut r = reply(StatusCode::UNAUTHORIZED, TEXT, "Unauthorized\n");
                r.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                r
            }
            // Not checked: too many password checks at once.
            Verdict::Busy => busy("password checks busy, retry\n"),
        }
    }

    /// The route: `/-/reload` waits for the reload, every other answers at once.
    async fn dispatch<B>(&self, req: &Request<B>) -> Response<ResponseBody> {
        if req.uri().path() == "/-/reload" {
            return self.reload(req.method()).await;
        }
        self.respond(req)
    }

    /// `POST /-/reload` (or PUT): 405 for other methods, 403 without
    /// `--web.enable-lifecycle`, else the reload's outcome (500 when the
    /// new configuration was refused and the old one runs on).
    async fn reload(&self, method: &Method) -> Response<ResponseBody> {
        if method != Method::POST && method != Method::PUT {
            let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only POST and PUT\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST, PUT"));
            return r;
        }
        let Some(lifecycle) = &self.cfg.lifecycle else {
            return reply(
                StatusCode::FORBIDDEN,
                TEXT,
                "Lifecycle API is not enabled.\n",
            );
        };
        match lifecycle.reload().await {
            Ok(done) => reply(StatusCode::OK, TEXT, done + "\n"),
            Err(why) => reply(StatusCode::INTERNAL_SERVER_ERROR, TEXT, why + "\n"),
        }
    }

    /// 404 for an unknown path, then 405 for a method other than GET and
    /// HEAD, then the route's answer.
    fn respond<B>(&self, req: &Request<B>) -> Response<ResponseBody> {
        let Some(route) = self.route(req.uri().path()) else {
            return reply(StatusCode::NOT_FOUND, TEXT, "not found\n");
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET and HEAD\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        match route {
            Route::Metrics => self.exposition_off_worker(req),
            Route::Health => self.health(),
            Route::Healthy => reply(StatusCode::OK, TEXT, "dsmr-exporter is Healthy.\n"),
            Route::Ready => self.ready(),
            Route::Page => self.page(),
            Route::Api => self.api(),
            Route::Events => self.events(),
        }
    }

    fn route(&self, path: &str) -> Option<Route> {
        // The telemetry path first: it may be `/`, and then the page is not served.
        Some(if path == self.cfg.telemetry_path {
            Route::Metrics
        } else if path == "/healthz" {
            Route::Health
        } else if path == "/-/healthy" {
            Route::Healthy
        } else if path == "/-/ready" {
            Route::Ready
        } else if path == "/" {
            Route::Page
        } else if path == "/api/v1/meters" {
            Route::Api
        } else if path == "/events" {
            Route::Events
        } else {
            return None;
        })
    }

    /// [`Router::exposition`], which for many meters leaves the async
    /// worker to other tasks while it runs: 10 000 meters take 0.1 to 0.2 s
    /// to render and gzip, and the worker's other connections (and the
    /// reload and price tasks) would wait that long; the meters have a
    /// thread of their own (`supervise::runtime`). (Only a multi-thread
    /// runtime can hand its tasks over; the exporter's is one.)
    fn exposition_off_worker<B>(&self, req: &Request<B>) -> Response<ResponseBody> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let multi =
            Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
        if multi && self.live.meters().len() >= LARGE_SCRAPE_METERS {
            tokio::task::block_in_place(|| self.exposition(req))
        } else {
            self.exposition(req)
        }
    }

    /// The exposition, in the format the `Accept` header asks for,
    /// gzipped when `Accept-Encoding` allows it.
    fn exposition<B>(&self, req: &Request<B>) -> Response<ResponseBody> {
        let headers = req.headers();
        let chosen = negotiate(headers.get_all(ACCEPT));
        let text = self.metrics.render_pieces(chosen.format);
        let gzipped = accepts_gzip(headers.get_all(ACCEPT_ENCODING));
        let large = text.len() >= MEMBER;
        let body: Bytes = if gzipped {
            let packed = gzip_pieces(text.pieces(), cores());
            // Dropped before the trim below: trimmed while they lived, a
            // gzip scrape left their 50 MB to the allocator every time.
            drop(text);
            packed.into()
        } else {
            text.into_string().into()
        };
        if large {
            // The pieces are gone: give their memory back (the body of a
            // large plain scrape is an mmap of its own, freed when sent).
            crate::metrics::release_freed_memory();
        }
        tracing::debug!(
            content_type = chosen.content_type,
            gzip = gzipped,
            bytes = body.len(),
            user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok()),
            "scrape answered"
        );
        let mut r = reply(StatusCode::OK, TEXT, body);
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&chosen.content_type) {
            h.insert(CONTENT_TYPE, v);
        }
        h.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
        if gzipped {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    }

    /// 200 once every meter's source was opened and one telegram from it
    /// decoded (a decoded telegram means its source was opened); 503
    /// naming the meters still waiting. Stays ready when a meter later goes
    /// quiet: that is `/healthz` and the metrics' job.
    fn ready(&self) -> Response<ResponseBody> {
        let meters = self.live.meters();
        let waiting: Vec<&str> = meters
            .iter()
            .filter(|m| m.lock().ok == 0)
            .map(|m| m.name())
            .collect();
        if waiting.is_empty() {
            reply(StatusCode::OK, TEXT, "dsmr-exporter is Ready.\n")
        } else {
            let body = format!(
                "dsmr-exporter is not ready: no telegram decoded yet from meters: {}\n",
                waiting.join(", ")
            );
            reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, body)
        }
    }

    /// 200, or 503 naming the stale meters.
    fn health(&self) -> Response<ResponseBody> {
        let stale = self.stale_meters();
        if stale.is_empty() {
            reply(StatusCode::OK, TEXT, "ok\n")
        } else {
            let body = format!("stale: {}\n", stale.join(", "));
            reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, body)
        }
    }

    fn page(&self) -> Response<ResponseBody> {
        let mut r = reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page::page(
                &self.page,
                &self.live.meters(),
                self.cfg.metrics.stale_after,
            ),
        );
        r.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        r
    }

    fn api(&self) -> Response<ResponseBody> {
        let mut r = reply(
            StatusCode::OK,
            "application/json",
            api::meters_json(&self.live.meters(), self.cfg.metrics.stale_after),
        );
        r.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }

    fn events(&self) -> Response<ResponseBody> {
        let Ok(slot) = self.event_slots.clone().try_acquire_owned() else {
            return busy("too many event streams, retry\n");
        };
        let body = events::event_stream(&self.hub(), self.stream.clone(), self.stop.clone(), slot);
        let mut r = Response::new(Either::Right(body));
        let h = r.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // Its own connection: the stream ends just before the
        // connection's lifetime, which then counts from its start.
        h.insert(CONNECTION, HeaderValue::from_static("close"));
        r
    }

    /// The event hub of the meters now: a new one after a reload changed
    /// them (streams already open keep theirs until they reconnect).
    fn hub(&self) -> Arc<Hub> {
        let now = self.live.meters();
        let mut hub = self.hub.lock().unwrap_or_else(|e| e.into_inner());
        if !hub.0.same_list(&now) {
            *hub = (now.clone(), Hub::new(&now, self.cfg.metrics.stale_after));
        }
        hub.1.clone()
    }

    /// Names of the meters without a valid telegram within `stale_after`.
    fn stale_meters(&self) -> Vec<String> {
        let now = Instant::now();
        self.live
            .meters()
            .iter()
            .filter(|m| {
                !m.lock()
                    .is_fresh(now, m.stale_after_or(self.cfg.metrics.stale_after))
            })
            .map(|m| m.name().to_owned())
            .collect()
    }
}

/// The answer on a connection chosen to make room for a new one, which
/// closes anyway.
pub(crate) fn closing() -> Response<ResponseBody> {
    busy("closed to make room, retry\n")
}

/// 503 with `Retry-After`, closing the connection.
fn busy(why: &'static str) -> Response<ResponseBody> {
    let mut r = reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, why);
    let h = r.headers_mut();
    h.insert(RETRY_AFTER, HeaderValue::from_static("5"));
    h.insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// A whole response of `content_type`.
fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<ResponseBody> {
    let mut r = Response::new(Either::Left(Full::new(body.into())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_router(cfg: ServerConfig) -> Router {
        let (_, stop) = watch::channel(false);
        Router::new(Live::default(), cfg, stop, Duration::from_secs(60), 4)
    }

    #[test]
    fn routes_and_methods() {
        let router = new_router(ServerConfig::default());
        let get = |path: &str, method: Method| {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .body(())
                .unwrap_or_default();
            router.respond(&req).status()
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
        let router = new_router(cfg);
        let req = Request::builder()
            .uri("/probe")
            .body(())
            .unwrap_or_default();
        assert_eq!(router.respond(&req).status(), StatusCode::OK);
    }
}
