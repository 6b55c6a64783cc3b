//! A HomeWizard Wi-Fi P1 meter, polled over its local HTTP API.
//!
//! `GET http://HOST/api/v1/telegram` returns the latest raw telegram as
//! text. The dongle is asked once per interval on a fresh HTTP/1.1
//! connection (it is on the LAN; one small request a second costs
//! nothing), with a timeout on the whole exchange.
//!
//! - The body goes to a pipeline that accepts a missing CRC: the endpoint is
//!   reported to leave it off after `!`, and TCP plus HTTP already guard
//!   the bytes between dongle and exporter.
//! - The dongle answers with the same telegram until the meter sends a new
//!   one, so a body equal to the previous one is not counted again.
//! - A body that holds no telegram (an HTML error page) is `malformed`.
//! - A poll that fails (no connection, timeout, an HTTP error status) marks
//!   the source down and backs off like the serial and TCP sources; the
//!   first poll that works again counts a reconnect.

use super::pipeline::Pipeline;
use super::reconnect::{Backoff, LogLimit, Retry, Verdict, LOG_BURST, LOG_WINDOW};
use crate::state::Meter;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// The API path of the raw telegram.
pub const TELEGRAM_PATH: &str = "/api/v1/telegram";

/// A telegram is a few kB; anything far larger is not one.
const MAX_BODY: usize = 64 * 1024;

/// Which dongle and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomewizardConfig {
    /// `HOST:PORT` (port 80 unless given), resolved on every poll.
    pub address: String,
    /// Time between polls.
    pub interval: Duration,
    /// The longest one poll (connect, request, body) may take.
    pub timeout: Duration,
    /// Waits after failed polls.
    pub retry: Retry,
}

impl HomewizardConfig {
    /// Polls `address` every `interval` with a timeout of the interval
    /// (at least 1 s, at most 5 s) and the default retry policy.
    pub fn new(address: impl Into<String>, interval: Duration) -> HomewizardConfig {
        HomewizardConfig {
            address: address.into(),
            interval,
            timeout: interval.clamp(Duration::from_secs(1), Duration::from_secs(5)),
            retry: Retry::default(),
        }
    }
}

impl fmt::Display for HomewizardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "homewizard http://{}{TELEGRAM_PATH} every {}",
            self.address,
            crate::duration::format(self.interval)
        )
    }
}

/// Why one poll got no body.
#[derive(Debug, Error)]
pub enum PollError {
    /// The dongle is unreachable (off, wrong address, another network).
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// The HTTP exchange broke off.
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// The address does not make a valid request (a bad `Host`).
    #[error("cannot build the request: {0}")]
    Request(#[from] hyper::http::Error),
    /// The dongle answered with an error, e.g. its local API is off.
    #[error("HTTP status {0}{hint}", hint = status_hint(*.0))]
    Status(hyper::StatusCode),
    /// The body broke off or is larger than a telegram can be.
    #[error("reading the body: {0}")]
    Body(String),
    /// The whole poll took longer than its timeout.
    #[error("no answer within {}", crate::duration::format(*.0))]
    Timeout(Duration),
}

/// The usual fix for a status a dongle with its local API off answers.
fn status_hint(status: hyper::StatusCode) -> &'static str {
    if status == hyper::StatusCode::FORBIDDEN || status == hyper::StatusCode::NOT_FOUND {
        " (is the local API switched on in the HomeWizard app?)"
    } else {
        ""
    }
}

/// Fetches the telegram once: a new connection, one GET, the whole body.
pub async fn poll(cfg: &HomewizardConfig) -> Result<Bytes, PollError> {
    match tokio::time::timeout(cfg.timeout, get_telegram(&cfg.address)).await {
        Ok(r) => r,
        Err(_) => Err(PollError::Timeout(cfg.timeout)),
    }
}

/// One GET of the telegram path on a new connection, without the timeout.
async fn get_telegram(address: &str) -> Result<Bytes, PollError> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(PollError::Connect)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection task ends with the exchange (or when this poll is
    // dropped on timeout, taking `sender` with it).
    let conn = tokio::spawn(conn);
    let req = hyper::Request::get(TELEGRAM_PATH)
        .header(hyper::header::HOST, address)
        .header(hyper::header::ACCEPT, "text/plain, */*")
        .header(hyper::header::CONNECTION, "close")
        .header(
            hyper::header::USER_AGENT,
            concat!("dsmr-exporter/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())?;
    let result = async {
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(PollError::Status(status));
        }
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| PollError::Body(e.to_string()))?;
        Ok(body.to_bytes())
    }
    .await;
    conn.abort();
    result
}

/// Polls forever, feeding new telegrams into the meter.
pub async fn run(cfg: HomewizardConfig, meter: Arc<Meter>) {
    let what = cfg.to_string();
    let mut pipeline = Pipeline::new(meter.clone()).allow_missing_crc(true);
    let mut backoff = Backoff::new(cfg.retry);
    let mut ticker = tokio::time::interval(cfg.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous: Option<Bytes> = None;
    let mut up = false;
    let mut worked_before = false;
    let mut failure_logged = false;
    // A dongle that answers every other poll is logged a few times a minute.
    let mut limit = LogLimit::new(LOG_WINDOW, LOG_BURST);
    let mut last_failure_written = true;
    loop {
        ticker.tick().await;
        match poll(&cfg).await {
            Ok(body) => {
                backoff.reset();
                failure_logged = false;
                if !up {
                    up = true;
                    meter.set_source_up(true);
                    if worked_before {
                        meter.record_reconnect();
                        if last_failure_written {
                            tracing::info!(meter = meter.name(), "{what}: reachable again");
                        } else {
                            tracing::debug!(meter = meter.name(), "{what}: reachable again");
                        }
                    } else {
                        tracing::info!(meter = meter.name(), "{what}: connected");
                    }
                    worked_before = true;
                }
                if previous.as_ref() == Some(&body) {
                    continue;
                }
                feed_body(&mut pipeline, &body);
                previous = Some(body);
            }
            Err(e) => {
                if up {
                    up = false;
                    meter.set_source_up(false);
                }
                let delay = backoff.next_delay();
                let verdict = if failure_logged {
                    Verdict::Suppress
                } else {
                    failure_logged = true;
                    let v = limit.check(Instant::now());
                    last_failure_written = v != Verdict::Suppress;
                    v
                };
                match verdict {
                    Verdict::Suppress => tracing::debug!(meter = meter.name(), "{what}: {e}"),
                    Verdict::Write(note) => tracing::warn!(
                        meter = meter.name(),
                        suppressed = note.suppressed,
                        "{what}: {e}; retrying (backoff up to {}){note}",
                        crate::duration::format(cfg.retry.max)
                    ),
                }
                tokio::time::sleep(delay).await;
                ticker.reset();
            }
        }
    }
}

/// Feeds one response body: a whole telegram, ended here. A body in which
/// the framer finds no telegram at all counts as malformed.
pub fn feed_body(pipeline: &mut Pipeline, body: &[u8]) {
    let mut n = pipeline.feed(body);
    // The body may end right after `!CRC` (or after `!` with no CRC).
    n += pipeline.feed(b"\r\n");
    n += pipeline.finish();
    if n == 0 {
        let start = body.get(..body.len().min(40)).unwrap_or_default();
        pipeline.reject(&format!(
            "HTTP body holds no telegram (starts with {:?})",
            String::from_utf8_lossy(start)
        ));
    }
}
