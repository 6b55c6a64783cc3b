//! The HTTP server.
// stub: replaced at merge

use crate::metrics::MetricsOptions;
use crate::state::Meters;
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;

/// What the server serves and where.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Path of the metrics page, e.g. `/metrics`.
    pub telemetry_path: String,
    /// How meter state becomes metrics.
    pub metrics: MetricsOptions,
}

/// Serves until `shutdown` completes. This stub answers every request with
/// the telegram counters of every meter.
pub async fn serve(
    listener: tokio::net::TcpListener,
    meters: Meters,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _ = cfg;
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
        };
        let meters = meters.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                let mut body = String::new();
                for m in meters.iter() {
                    let ok = m.lock().ok;
                    let _ = writeln!(
                        body,
                        "dsmr_telegrams_total{{meter=\"{}\",result=\"ok\"}} {ok}",
                        m.name()
                    );
                }
                async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body)))) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
