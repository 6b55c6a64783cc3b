//! The listener: accepts connections (plain or TLS) and serves each with
//! [`crate::http::routes`], bounded against slow or broken clients.
//!
//! The endpoint is exposed on home networks, so it guards itself: a
//! deadline for the request head (a client that connects and sends nothing
//! is dropped), a cap on the head's size, a maximum lifetime per connection
//! and a cap on open connections.
//!
//! [`serve`] takes its shutdown signal as a future (as mini-redis does), so
//! tests can pass their own; open connections then get a bounded grace
//! period to finish the response they are writing.

use super::routes::{Router, ServerConfig};
use crate::state::Meters;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

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
    let router = Arc::new(Router::new(meters, cfg, stop_rx.clone(), lifetime));
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
                let server = ConnectionServer {
                    router: router.clone(),
                    http: http.clone(),
                    limits: limits.clone(),
                    stop: stop_rx.clone(),
                };
                conns.spawn(async move {
                    let _permit = permit;
                    server.serve(stream, peer).await;
                });
            }
        }
    }

    drop(listener);
    let _ = stop_tx.send(true);
    drain(conns, limits.shutdown_grace).await;
    Ok(())
}

/// Waits for the open connections to finish, at most `grace` (plus a
/// little for the last writes), then cuts off the rest.
async fn drain(mut conns: JoinSet<()>, grace: Duration) {
    let finished = async { while conns.join_next().await.is_some() {} };
    let bound = grace + Duration::from_millis(500);
    if tokio::time::timeout(bound, finished).await.is_err() {
        tracing::warn!(
            open = conns.len(),
            "closing connections still open after the grace period"
        );
        conns.shutdown().await;
    }
}

/// What every accepted socket is served with; one copy per connection.
struct ConnectionServer {
    router: Arc<Router>,
    http: http1::Builder,
    limits: Limits,
    stop: watch::Receiver<bool>,
}

impl ConnectionServer {
    /// The TLS handshake first when configured, then the connection.
    async fn serve(self, stream: TcpStream, peer: std::net::SocketAddr) {
        let _ = stream.set_nodelay(true);
        let Some(tls) = self.router.tls().cloned() else {
            return self.connection(TokioIo::new(stream), peer).await;
        };
        // The handshake counts against the request-head deadline.
        match tokio::time::timeout(self.limits.header_read_timeout, tls.accept(stream)).await {
            Ok(Ok(s)) => self.connection(TokioIo::new(s), peer).await,
            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
    }

    /// Serves one connection (plain or TLS) until it ends, its lifetime is up
    /// or the server stops.
    async fn connection<I>(self, io: I, peer: std::net::SocketAddr)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let ConnectionServer {
            router,
            http,
            limits,
            mut stop,
        } = self;
        let service = service_fn(move |req: Request<hyper::body::Incoming>| {
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.authorize_and_respond(req).await) }
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
}
