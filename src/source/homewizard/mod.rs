//! A HomeWizard Wi-Fi P1 meter, polled over its local API, v1 or v2.
//!
//! - API v1 (firmware before 6, frozen, to be removed): plain HTTP on port
//!   80, `GET /api/v1/telegram`, no authentication ([`v1`]).
//! - API v2 (firmware 6 and later): HTTPS on port 443 with
//!   `X-Api-Version: 2` and a bearer token that `POST /api/user` hands out
//!   while the device's button is pressed ([`pair`]); `GET /api/telegram`
//!   ([`v2`]). The device's certificate is checked against HomeWizard's CA
//!   and its CN ([`tls`]).
//! - [`detect`]: with [`Api::Auto`], `GET /api` over HTTPS picks the API:
//!   401 (a token is wanted) is v2; 404, or no HTTPS at all, is v1.
//! - `poller`: the loop that polls, feeds telegrams to the pipeline and
//!   backs off; [`run`] starts it.
//! - [`token`]: the token, a secret that is never logged, and its file.
//! - `client`: one HTTP(S) exchange; `subject`: the CN of a certificate.
//!
//! Both APIs answer with the latest raw telegram as text, fed to a pipeline
//! that accepts a missing CRC (the v1 endpoint is reported to leave it off;
//! TCP plus HTTP already guard the bytes between dongle and exporter).

mod client;
pub mod detect;
pub mod pair;
mod poller;
mod subject;
pub mod tls;
pub mod token;
pub mod v1;
pub mod v2;

pub use client::{ExchangeError, Target};
pub use poller::{feed_body, run, PollError};
pub use tls::{Ca, Trust};
pub use token::{Token, TokenError, TokenSource};
pub use v1::{poll, TELEGRAM_PATH};

use super::reconnect::Retry;
use std::fmt;
use std::time::Duration;

/// The token file `homewizard pair` writes and the source reads, when no
/// other is given (relative to the working directory, or to the config
/// file's directory).
pub const DEFAULT_TOKEN_FILE: &str = "homewizard.token";

/// Which local API to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Ask the device at start (see [`detect`]).
    Auto,
    /// Plain HTTP, `/api/v1/telegram`.
    V1,
    /// HTTPS with a token, `/api/telegram`.
    V2,
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Api::Auto => "auto",
            Api::V1 => "v1",
            Api::V2 => "v2",
        })
    }
}

/// Which device, which API and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomewizardConfig {
    /// The host name or address (IPv6 in brackets), without port.
    pub host: String,
    /// The port, when not the API's own (80 for v1, 443 for v2).
    pub port: Option<u16>,
    /// v1, v2, or ask the device.
    pub api: Api,
    /// Where the v2 token comes from.
    pub token: TokenSource,
    /// The CA and certificate name a v2 device must present.
    pub trust: Trust,
    /// Time between polls.
    pub interval: Duration,
    /// The longest one poll (connect, TLS, request, body) may take.
    pub timeout: Duration,
    /// Waits after failed polls.
    pub retry: Retry,
    /// The wait after a token was refused (401) or is missing; the token
    /// file is read again after it.
    pub auth_retry: Duration,
    /// A refused token is logged once, then again only this rarely.
    pub auth_relog: Duration,
}

impl HomewizardConfig {
    /// Polls `host` every `interval` with a timeout of the interval (at
    /// least 1 s, at most 5 s), the API detected, the token from
    /// [`DEFAULT_TOKEN_FILE`], any P1 meter trusted, and the default waits.
    pub fn new(host: impl Into<String>, port: Option<u16>, interval: Duration) -> Self {
        HomewizardConfig {
            host: host.into(),
            port,
            api: Api::Auto,
            token: TokenSource::File(DEFAULT_TOKEN_FILE.into()),
            trust: Trust::any_p1_meter(),
            interval,
            timeout: interval.clamp(Duration::from_secs(1), Duration::from_secs(5)),
            retry: Retry::default(),
            auth_retry: Duration::from_secs(60),
            auth_relog: Duration::from_secs(3600),
        }
    }

    /// `HOST:PORT` of API v1.
    pub fn v1_address(&self) -> String {
        format!("{}:{}", self.host, self.port.unwrap_or(80))
    }

    /// `HOST:PORT` of API v2.
    pub fn v2_address(&self) -> String {
        format!("{}:{}", self.host, self.port.unwrap_or(443))
    }

    /// Where v1 requests go.
    pub(crate) fn v1_target(&self) -> Target {
        Target {
            address: self.v1_address(),
            host: self.host.clone(),
            tls: None,
            timeout: self.timeout,
        }
    }

    /// Where v2 requests go, trusting what [`Self::trust`] says.
    pub(crate) fn v2_target(&self) -> Result<Target, tls::CaError> {
        Ok(Target {
            address: self.v2_address(),
            host: self.host.clone(),
            tls: Some(tls::client_config(&self.trust)?),
            timeout: self.timeout,
        })
    }

    /// `HOST` or `HOST:PORT`, as the user would write it again.
    pub fn host_arg(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// The endpoint of one API, short, to open log lines with.
    pub fn label(&self, api: Api) -> String {
        match api {
            Api::V1 => format!("homewizard http://{}{TELEGRAM_PATH}", self.v1_address()),
            Api::V2 => format!(
                "homewizard https://{}{}",
                self.v2_address(),
                v2::TELEGRAM_PATH
            ),
            Api::Auto => format!("homewizard {}", self.host_arg()),
        }
    }

    /// The source with one API, in words (for `--check-config`).
    pub fn describe(&self, api: Api) -> String {
        let every = crate::duration::format(self.interval);
        let v1 = format!("http://{}{TELEGRAM_PATH}", self.v1_address());
        let v2 = format!(
            "https://{}{} (API v2, {}, certificate {})",
            self.v2_address(),
            v2::TELEGRAM_PATH,
            self.token.describe(),
            self.trust.expected_name()
        );
        match api {
            Api::V1 => format!("homewizard {v1} every {every} (API v1)"),
            Api::V2 => format!("homewizard {v2} every {every}"),
            Api::Auto => format!(
                "homewizard {v1} every {every} (API v1), or {v2} if the device answers 401 on GET /api over HTTPS"
            ),
        }
    }
}

impl fmt::Display for HomewizardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(self.api))
    }
}
