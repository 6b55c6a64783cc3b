//! The polling loop of one HomeWizard device, v1 or v2.
//!
//! - The dongle answers with the same telegram until the meter sends a new
//!   one, so a body equal to the previous one is not counted again.
//! - A body that holds no telegram (an HTML error page) is `malformed`.
//! - A poll that fails (no connection, timeout, a refused certificate, an
//!   HTTP error status) marks the source down and backs off like the
//!   serial and TCP sources; the first poll that works again counts a
//!   reconnect.
//! - v2, 503: the device has no telegram from the meter yet. The device is
//!   up; this is logged once, not as an error each poll.
//! - v2, 401 or no token: one clear error line, the source down, and a
//!   slow retry ([`HomewizardConfig::auth_retry`]) that reads the token
//!   file again, so pairing anew while the exporter runs takes effect; the
//!   line is repeated only every [`HomewizardConfig::auth_relog`].

use super::client::{ExchangeError, Target};
use super::detect::detect;
use super::tls::CaError;
use super::token::{readable_by_others, Token, TokenError, TokenSource};
use super::{v1, v2, Api, Ca, HomewizardConfig};
use crate::source::log_limit::{LogLimit, Verdict, LOG_BURST, LOG_WINDOW};
use crate::source::pipeline::Pipeline;
use crate::source::reconnect::Backoff;
use crate::state::Meter;
use bytes::Bytes;
use hyper::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why one poll got no telegram.
#[derive(Debug, Error)]
pub enum PollError {
    /// No answer: connection, TLS, HTTP or timeout.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// The device answered with an error status (and a hint what to do).
    #[error("HTTP status {0}{1}")]
    Status(StatusCode, &'static str),
    /// v2: 503, the device has not received a telegram from the meter yet.
    #[error("the device has no telegram yet (503)")]
    NoTelegram,
    /// v2: 401, the token is wrong or was revoked.
    #[error(
        "the device refused the token (401 Unauthorized): it was revoked, or is another device's"
    )]
    Unauthorized,
    /// v2: no usable token.
    #[error("no usable token: {0}")]
    Token(TokenError),
    /// v2: the CA cannot be used (only a bad test-only CA can be).
    #[error("{0}")]
    Ca(#[from] CaError),
}

/// Polls forever: asks the device its API first when it is not set, then
/// feeds new telegrams into the meter.
pub async fn run(cfg: HomewizardConfig, meter: Arc<Meter>) {
    if let Ca::TestOnly(_) = cfg.trust.ca {
        tracing::warn!(
            meter = meter.name(),
            "{}: trusting a test-only CA instead of HomeWizard's (never for a real device)",
            cfg.label(Api::Auto)
        );
    }
    let api = match cfg.api {
        Api::Auto => detect_until_known(&cfg, &meter).await,
        known => known,
    };
    let target = match api {
        Api::V2 => match cfg.v2_target() {
            Ok(t) => t,
            Err(e) => {
                // The CLI checked the CA; this cannot happen but is said.
                tracing::error!(meter = meter.name(), "{}: {e}", cfg.label(Api::Auto));
                return;
            }
        },
        _ => cfg.v1_target(),
    };
    Poller::new(cfg, meter, api, target).run().await;
}

/// Asks the device which API it speaks until it says, backing off.
async fn detect_until_known(cfg: &HomewizardConfig, meter: &Meter) -> Api {
    let mut backoff = Backoff::new(cfg.retry);
    let mut limit = LogLimit::new(LOG_WINDOW, LOG_BURST);
    loop {
        match detect(cfg).await {
            Ok(d) => {
                tracing::info!(
                    meter = meter.name(),
                    "{}: using API {} because {}",
                    cfg.label(Api::Auto),
                    d.api,
                    d.why
                );
                return d.api;
            }
            Err(e) => match limit.check(Instant::now()) {
                Verdict::Write(note) => tracing::warn!(
                    meter = meter.name(),
                    "{}: cannot tell its API (v1 or v2) yet: {e}; retrying \
                     (--homewizard-api or api = \"v1\"/\"v2\" skips this){note}",
                    cfg.label(Api::Auto)
                ),
                Verdict::Suppress => tracing::debug!(meter = meter.name(), "homewizard: {e}"),
            },
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Since when the token is refused or missing, and when that was logged.
struct AuthTrouble {
    since: Instant,
    logged: Instant,
}

/// One device's polling state.
struct Poller {
    cfg: HomewizardConfig,
    meter: Arc<Meter>,
    api: Api,
    target: Target,
    what: String,
    pipeline: Pipeline,
    backoff: Backoff,
    previous: Option<Bytes>,
    up: bool,
    worked_before: bool,
    failure_logged: bool,
    /// A device that answers every other poll is logged a few times a minute.
    limit: LogLimit,
    last_failure_written: bool,
    token: Option<Token>,
    token_mode_warned: bool,
    auth: Option<AuthTrouble>,
    no_telegram_logged: bool,
}

impl Poller {
    fn new(cfg: HomewizardConfig, meter: Arc<Meter>, api: Api, target: Target) -> Poller {
        Poller {
            what: cfg.label(api),
            pipeline: Pipeline::new(meter.clone()).allow_missing_crc(true),
            backoff: Backoff::new(cfg.retry),
            cfg,
            meter,
            api,
            target,
            previous: None,
            up: false,
            worked_before: false,
            failure_logged: false,
            limit: LogLimit::new(LOG_WINDOW, LOG_BURST),
            last_failure_written: true,
            token: None,
            token_mode_warned: false,
            auth: None,
            no_telegram_logged: false,
        }
    }

    async fn run(mut self) {
        let mut ticker = tokio::time::interval(self.cfg.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match self.fetch().await {
                Ok(body) => self.on_body(body),
                Err(PollError::NoTelegram) => self.on_no_telegram(),
                Err(e @ (PollError::Unauthorized | PollError::Token(_))) => {
                    self.on_auth_trouble(&e);
                    tokio::time::sleep(self.cfg.auth_retry).await;
                    // Read the token file again: it may have been re-paired.
                    self.token = None;
                    ticker.reset();
                }
                Err(e) => {
                    let delay = self.on_failure(&e);
                    tokio::time::sleep(delay).await;
                    ticker.reset();
                }
            }
        }
    }

    /// One poll of the API in use.
    async fn fetch(&mut self) -> Result<Bytes, PollError> {
        match self.api {
            Api::V2 => {
                let token = self.token()?;
                v2::fetch(&self.target, &token).await
            }
            _ => v1::fetch(&self.target).await,
        }
    }

    /// The token, read from its source when not held yet.
    fn token(&mut self) -> Result<Token, PollError> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        let t = self.cfg.token.load().map_err(PollError::Token)?;
        if let TokenSource::File(path) = &self.cfg.token {
            if !self.token_mode_warned && readable_by_others(path) {
                self.token_mode_warned = true;
                tracing::warn!(
                    meter = self.meter.name(),
                    "{}: others can read the token file {}; make it private: chmod 600",
                    self.what,
                    path.display()
                );
            }
        }
        self.token = Some(t.clone());
        Ok(t)
    }

    fn on_body(&mut self, body: Bytes) {
        if self.auth.take().is_some() {
            tracing::info!(meter = self.meter.name(), "{}: token accepted", self.what);
        }
        self.no_telegram_logged = false;
        self.mark_up();
        if self.previous.as_ref() == Some(&body) {
            return;
        }
        feed_body(&mut self.pipeline, &body);
        self.previous = Some(body);
    }

    fn on_no_telegram(&mut self) {
        if self.auth.take().is_some() {
            tracing::info!(meter = self.meter.name(), "{}: token accepted", self.what);
        }
        self.mark_up();
        if !self.no_telegram_logged {
            self.no_telegram_logged = true;
            tracing::info!(
                meter = self.meter.name(),
                "{}: the device has no telegram from the meter yet (503); waiting \
                 (is it plugged into the smart meter's P1 port?)",
                self.what
            );
        } else {
            tracing::debug!(
                meter = self.meter.name(),
                "{}: still no telegram",
                self.what
            );
        }
    }

    /// The source is down until a token works: one error line, then one
    /// every `auth_relog` while it lasts.
    fn on_auth_trouble(&mut self, e: &PollError) {
        self.mark_down();
        let now = Instant::now();
        let pair = format!("dsmr-exporter homewizard pair {}", self.cfg.host_arg());
        let fix = match &self.cfg.token {
            TokenSource::File(path) => format!(
                "pair{} with `{pair}` ({} is read again every {})",
                if matches!(e, PollError::Unauthorized) {
                    " again"
                } else {
                    ""
                },
                path.display(),
                crate::duration::format(self.cfg.auth_retry)
            ),
            TokenSource::Given { from, .. } => {
                format!("pair again with `{pair} --print-token`, set {from} and restart")
            }
        };
        match &mut self.auth {
            None => {
                self.auth = Some(AuthTrouble {
                    since: now,
                    logged: now,
                });
                tracing::error!(meter = self.meter.name(), "{}: {e}; {fix}", self.what);
            }
            Some(t) if now.saturating_duration_since(t.logged) >= self.cfg.auth_relog => {
                t.logged = now;
                let over = Duration::from_secs(now.saturating_duration_since(t.since).as_secs());
                tracing::warn!(
                    meter = self.meter.name(),
                    "{}: still {e} (for {}); {fix}",
                    self.what,
                    crate::duration::format(over)
                );
            }
            Some(_) => tracing::debug!(meter = self.meter.name(), "{}: {e}", self.what),
        }
    }

    fn mark_up(&mut self) {
        self.backoff.reset();
        self.failure_logged = false;
        if self.up {
            return;
        }
        self.up = true;
        self.meter.set_source_up(true);
        let name = self.meter.name();
        if !self.worked_before {
            tracing::info!(meter = name, "{}: connected", self.what);
        } else {
            self.meter.record_reconnect();
            if self.last_failure_written {
                tracing::info!(meter = name, "{}: reachable again", self.what);
            } else {
                tracing::debug!(meter = name, "{}: reachable again", self.what);
            }
        }
        self.worked_before = true;
    }

    fn mark_down(&mut self) {
        if self.up {
            self.up = false;
            self.meter.set_source_up(false);
        }
    }

    /// Marks the source down, logs within limits; returns the wait.
    fn on_failure(&mut self, e: &PollError) -> Duration {
        self.mark_down();
        let delay = self.backoff.next_delay();
        let verdict = if self.failure_logged {
            Verdict::Suppress
        } else {
            self.failure_logged = true;
            let v = self.limit.check(Instant::now());
            self.last_failure_written = v != Verdict::Suppress;
            v
        };
        match verdict {
            Verdict::Suppress => tracing::debug!(meter = self.meter.name(), "{}: {e}", self.what),
            Verdict::Write(note) => tracing::warn!(
                meter = self.meter.name(),
                suppressed = note.suppressed,
                "{}: {e}; retrying (backoff up to {}){note}",
                self.what,
                crate::duration::format(self.cfg.retry.max)
            ),
        }
        delay
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
