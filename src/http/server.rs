//! The listener: accepts connections (plain or TLS) and serves each with
//! [`crate::http::routes`], bounded against slow or broken clients.
//!
//! The endpoint is exposed on home networks, so it guards itself: a
//! deadline for the request head (a client that connects and sends nothing
//! is dropped; it also bounds how long a kept-alive connection may idle),
//! a cap on the head's size, a maximum lifetime per connection and caps on
//! open connections.
//!
//! The accept loop never waits for a free place (issue #12: 300 clients
//! dribbling a header line a second used to hold every place while new
//! connections queued behind them). Every connection is accepted and is in
//! one of three states: waiting for a request head (fresh, or idle between
//! requests), busy with a request, or streaming `/events`. Over
//! [`Limits::max_connections`] (streams not counted), the connection that
//! has waited longest for a head is closed to make room; a prompt client
//! sends its head within milliseconds, so it is always the newest waiting
//! and is never the one closed. Only when every place is busy with a
//! request younger than the head deadline is the new connection closed.
//! Event streams have their own small cap ([`Limits::max_event_streams`],
//! 503 beyond it), so they cannot take the places scrapers need.
//!
//! [`serve`] takes its shutdown signal as a future (as mini-redis does), so
//! tests can pass their own; open connections then get a bounded grace
//! period to finish the response they are writing.
//!
//! [`serve_listeners`] serves several listeners (each `--web.listen-address`,
//! or systemd's sockets) as one server: one accept task per listener feeds
//! the same loop, limits and routes. With TLS, a client that speaks plain
//! HTTP to the port gets the 400 Go's server sends ("Client sent an HTTP
//! request to an HTTPS server."), not a silent close.

use super::routes::{ResponseBody, Router, ServerConfig};
use crate::state::Meters;
use http_body_util::Either;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify};
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
    /// Open connections besides event streams; one more closes the
    /// connection that has waited longest for a request head.
    pub max_connections: usize,
    /// Open `/events` streams; one more is answered 503.
    pub max_event_streams: usize,
    /// Largest request head accepted; larger ones get 431.
    pub max_header_bytes: usize,
    /// How long open connections may take to finish once shutdown begins.
    pub shutdown_grace: Duration,
    /// How often the web config file (and the certificates it names) is
    /// checked for changes.
    pub web_config_poll: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            connection_timeout: Duration::from_secs(60),
            max_connections: 256,
            max_event_streams: 32,
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(5),
            web_config_poll: Duration::from_secs(1),
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
    serve_listeners(vec![listener], meters, cfg, limits, shutdown).await
}

/// [`serve_with_limits`] on every listener of `listeners` at once (one
/// server: the connection caps count them all).
pub async fn serve_listeners(
    listeners: Vec<TcpListener>,
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
    let router = Arc::new(Router::new(
        meters,
        cfg,
        stop_rx.clone(),
        lifetime,
        limits.max_event_streams.max(1),
    ));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes);
    let registry = Arc::new(Registry::new(
        limits.max_connections.max(1),
        limits.header_read_timeout,
    ));
    let mut conns = JoinSet::new();
    let mut background = JoinSet::new();
    if let Some(web) = router.live_web() {
        background.spawn(web.watch(limits.web_config_poll, stop_rx.clone()));
    }
    let (accepted_tx, mut accepted_rx) = mpsc::channel(16);
    for listener in listeners {
        background.spawn(accept_loop(listener, accepted_tx.clone()));
    }
    drop(accepted_tx);
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(done) = conns.join_next(), if !conns.is_empty() => {
                if let Err(e) = done {
                    tracing::error!("connection task failed: {e}");
                }
            }
            accepted = accepted_rx.recv() => {
                let Some((stream, peer)) = accepted else {
                    break;
                };
                let Some(slot) = registry.admit() else {
                    tracing::debug!(%peer, "every place busy: connection refused");
                    continue;
                };
                let server = ConnectionServer {
                    router: router.clone(),
                    http: http.clone(),
                    limits: limits.clone(),
                    stop: stop_rx.clone(),
                };
                conns.spawn(async move {
                    server.serve(stream, peer, &slot).await;
                });
            }
        }
    }

    // Closes the listeners and stops the watcher.
    background.shutdown().await;
    let _ = stop_tx.send(true);
    drain(conns, limits.shutdown_grace).await;
    Ok(())
}

/// Accepts on `listener` and hands each connection to the server loop,
/// until the loop is gone.
async fn accept_loop(listener: TcpListener, to: mpsc::Sender<(TcpStream, std::net::SocketAddr)>) {
    loop {
        match listener.accept().await {
            Ok(conn) => {
                if to.send(conn).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // Usually EMFILE: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
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
    /// Closed at once when `slot` is evicted to make room.
    async fn serve(self, stream: TcpStream, peer: std::net::SocketAddr, slot: &Admitted) {
        let evicted = slot.slot.evict.notified();
        tokio::select! {
            () = self.serve_tls(stream, peer, slot.slot.clone()) => {}
            () = evicted => tracing::debug!(%peer, "closed to make room for a new connection"),
        }
    }

    async fn serve_tls(self, stream: TcpStream, peer: std::net::SocketAddr, slot: Arc<Slot>) {
        let _ = stream.set_nodelay(true);
        // The web config in force when the connection came.
        let Some(tls) = self.router.tls() else {
            return self.connection(TokioIo::new(stream), peer, slot).await;
        };
        // The first byte and the handshake count against the request-head deadline.
        let handshake = async {
            if speaks_plain_http(&stream).await {
                refuse_plain_http(stream).await;
                return None;
            }
            Some(tls.accept(stream).await)
        };
        match tokio::time::timeout(self.limits.header_read_timeout, handshake).await {
            Ok(Some(Ok(s))) => self.connection(TokioIo::new(s), peer, slot).await,
            Ok(Some(Err(e))) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
            Ok(None) => tracing::debug!(%peer, "plain HTTP on the TLS port: 400"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
    }

    /// Serves one connection (plain or TLS) until it ends, its lifetime is up
    /// or the server stops.
    async fn connection<I>(self, io: I, peer: std::net::SocketAddr, slot: Arc<Slot>)
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
            let slot = slot.clone();
            async move {
                if !slot.enter(WAITING, BUSY) {
                    // Chosen to make room just now: closing anyway.
                    return Ok(super::routes::closing());
                }
                let r: Response<ResponseBody> = router.authorize_and_respond(req).await;
                // Written from here on: a client too slow to read its
                // answer is as evictable as one that sends no request.
                let next = match r.body() {
                    Either::Right(_) => STREAMING,
                    Either::Left(_) => WAITING,
                };
                slot.enter(BUSY, next);
                Ok::<_, Infallible>(r)
            }
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

/// True when the client's first byte starts an HTTP request (an ASCII
/// letter, as in `GET`) rather than a TLS record (0x16, a handshake).
async fn speaks_plain_http(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0].is_ascii_uppercase())
}

/// What Go's HTTPS server answers a plain HTTP request, then close.
async fn refuse_plain_http(mut stream: TcpStream) {
    const REPLY: &[u8] = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
    let _ = stream.write_all(REPLY).await;
    let _ = stream.shutdown().await;
}

/// Waiting for a request head: fresh, or kept alive between requests.
const WAITING: u8 = 0;
/// Handling a request (basic auth, building the answer).
const BUSY: u8 = 1;
/// Streaming `/events` (counted by the routes, not here).
const STREAMING: u8 = 2;
/// Chosen to make room; closing.
const EVICTED: u8 = 3;

/// One open connection, as the accept loop sees it.
#[derive(Debug)]
struct Slot {
    state: AtomicU8,
    /// When it entered its state, in milliseconds since the registry began.
    since: AtomicU64,
    /// Notified to close the connection at once.
    evict: Notify,
    epoch: Instant,
}

impl Slot {
    /// Moves from `from` to `to`; false (and no change) when the slot is
    /// no longer in `from`, i.e. it was chosen to make room meanwhile.
    fn enter(&self, from: u8, to: u8) -> bool {
        let moved = self
            .state
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if moved {
            self.since.store(millis(self.epoch), Ordering::Relaxed);
        }
        moved
    }
}

fn millis(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The open connections, to choose which one makes room for a new one.
#[derive(Debug)]
struct Registry {
    max: usize,
    /// A request busy for longer than this may be closed for a new connection.
    busy_grace: Duration,
    epoch: Instant,
    open: Mutex<(u64, HashMap<u64, Arc<Slot>>)>,
}

/// A connection's place; given back when dropped.
struct Admitted {
    id: u64,
    slot: Arc<Slot>,
    registry: Arc<Registry>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(|e| e.into_inner());
        open.1.remove(&self.id);
    }
}

impl Registry {
    fn new(max: usize, busy_grace: Duration) -> Registry {
        Registry {
            max,
            busy_grace,
            epoch: Instant::now(),
            open: Mutex::new((0, HashMap::new())),
        }
    }

    /// A place for a new connection, closing the one that has waited longest
    /// for a request head when all are taken; `None` when every place is
    /// busy with a request younger than the busy grace.
    fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let now = millis(self.epoch);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (next, conns) = &mut *open;
        let counted = conns
            .values()
            .filter(|s| s.state.load(Ordering::Relaxed) != STREAMING)
            .count();
        if counted >= self.max {
            let grace = u64::try_from(self.busy_grace.as_millis()).unwrap_or(u64::MAX);
            // Candidates oldest first; a state is claimed with a
            // compare-and-swap, so a connection whose request has just
            // started is never closed for an idle view of it.
            let mut candidates: Vec<(u64, u8, u64)> = conns
                .iter()
                .filter_map(|(id, s)| {
                    let state = s.state.load(Ordering::Acquire);
                    let since = s.since.load(Ordering::Relaxed);
                    let evictable =
                        state == WAITING || (state == BUSY && now.saturating_sub(since) >= grace);
                    evictable.then_some((*id, state, since))
                })
                .collect();
            // Waiting ones first, each kind oldest first.
            candidates.sort_by_key(|&(_, state, since)| (state != WAITING, since));
            let victim = candidates
                .into_iter()
                .find(|&(id, state, _)| conns.get(&id).is_some_and(|s| s.enter(state, EVICTED)))?;
            if let Some(s) = conns.remove(&victim.0) {
                s.evict.notify_one();
            }
        }
        let id = *next;
        *next += 1;
        let slot = Arc::new(Slot {
            state: AtomicU8::new(WAITING),
            since: AtomicU64::new(now),
            evict: Notify::new(),
            epoch: self.epoch,
        });
        conns.insert(id, slot.clone());
        Some(Admitted {
            id,
            slot,
            registry: self.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_waiting_connection_makes_room() {
        let r = Arc::new(Registry::new(2, Duration::from_secs(10)));
        let a = r.admit();
        std::thread::sleep(Duration::from_millis(5));
        let b = r.admit();
        let (Some(a), Some(b)) = (a, b) else {
            panic!("two places")
        };
        assert!(b.slot.enter(WAITING, BUSY));
        // A third: `a` waited longest for its head and is closed.
        let c = r.admit();
        assert!(c.is_some());
        let open = r.open.lock().unwrap_or_else(|e| e.into_inner());
        assert!(!open.1.contains_key(&a.id) && open.1.contains_key(&b.id));
        drop(open);
        // `a` learns it was chosen: its request, had one come, is not served.
        assert!(!a.slot.enter(WAITING, BUSY));
        // Streams do not count; busy ones younger than the grace stay.
        if let Some(c) = &c {
            assert!(c.slot.enter(WAITING, BUSY) && c.slot.enter(BUSY, STREAMING));
        }
        let d = r.admit();
        assert!(d.is_some());
        if let Some(d) = &d {
            assert!(d.slot.enter(WAITING, BUSY));
        }
        assert!(r.admit().is_none(), "every place busy: refused");
    }
}
