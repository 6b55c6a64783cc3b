//! Pairing with an API v2 device, one request at a time: `POST /api/user`
//! answers 403 `user:creation-not-enabled` until the device's button is
//! pressed, then (for 30 seconds) 200 with a token. The interactive
//! command around it (countdown, token file) is `cmd::homewizard_pair`.

use super::client::{exchange, ExchangeError, Request, Target};
use super::tls::{self, CaError, Trust};
use super::token::{Token, TokenError};
use super::v2;
use hyper::{Method, StatusCode};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// The user name the exporter pairs as (after `local/`). Pairing again
/// under the same name replaces the old token on the device.
pub const DEFAULT_USER: &str = "dsmr-exporter";

/// What `dsmr-exporter homewizard pair` does, as the CLI checked it.
#[derive(Debug, Clone)]
pub struct PairConfig {
    /// The host name or address (IPv6 in brackets), without port.
    pub host: String,
    /// The HTTPS port when not 443.
    pub port: Option<u16>,
    /// The user name, without `local/`.
    pub user: String,
    /// The CA and certificate name the device must present.
    pub trust: Trust,
    /// Where the token is written (mode 0600).
    pub token_file: PathBuf,
    /// How long to wait for the button press.
    pub wait: Duration,
    /// Print the token on standard output too.
    pub print_token: bool,
    /// The longest one request may take.
    pub timeout: Duration,
}

impl PairConfig {
    /// `HOST[:PORT]` as the user would write it again.
    pub fn address(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// Where the requests go, trusting what [`Self::trust`] says.
    pub fn target(&self) -> Result<Target, CaError> {
        Ok(Target {
            address: format!("{}:{}", self.host, self.port.unwrap_or(443)),
            host: self.host.clone(),
            tls: Some(tls::client_config(&self.trust)?),
            timeout: self.timeout,
        })
    }
}

/// Checks a user name as the device does: 1 to 40 of `a-z A-Z 0-9 - _ / \ #`
/// and spaces.
pub fn check_user(name: &str) -> Result<(), &'static str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_/\\# ".contains(c);
    if name.is_empty() || name.len() > 40 || !name.chars().all(ok) {
        return Err("1 to 40 of a-z, A-Z, 0-9, -, _, /, \\, # and spaces");
    }
    Ok(())
}

/// What one `POST /api/user` gave.
#[derive(Debug)]
pub enum Answer {
    /// The button was pressed: the token.
    Token(Token),
    /// 403 `user:creation-not-enabled`: not pressed (yet).
    NotPressed,
}

/// Why pairing cannot go on.
#[derive(Debug, Error)]
pub enum PairError {
    /// The CA cannot be used.
    #[error("{0}")]
    Ca(#[from] CaError),
    /// No answer, or the certificate was refused.
    #[error("{0}")]
    Exchange(#[from] ExchangeError),
    /// The device has HTTPS but not the v2 API.
    #[error("the device answered 404 on POST /api/user: it does not offer API v2 (firmware older than 6?); use API v1: switch on \"Local API\" in the HomeWizard app")]
    NoApiV2,
    /// An error the device explained.
    #[error("the device answered {status}: {error}")]
    Refused {
        /// The status.
        status: StatusCode,
        /// Its `error` code, or the start of the body.
        error: String,
    },
    /// An answer that is not what the API documents.
    #[error("unexpected answer: {0}")]
    BadAnswer(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

/// The device's description of itself (`GET /api`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeviceInfo {
    /// E.g. `P1 Meter`.
    pub product_name: String,
    /// E.g. `HWE-P1`.
    pub product_type: String,
    /// 12 hex digits, also the MAC address.
    pub serial: String,
    /// E.g. `6.00`.
    pub firmware_version: String,
    /// E.g. `2.0.0`.
    pub api_version: String,
}

/// The `error` code of a JSON answer, else the start of the body.
fn error_text(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => String::from_utf8_lossy(body.get(..body.len().min(80)).unwrap_or_default())
            .trim()
            .to_owned(),
    }
}

/// Asks once for a token as `local/<user>`.
pub async fn request_token(target: &Target, user: &str) -> Result<Answer, PairError> {
    let req = Request {
        method: Method::POST,
        path: "/api/user",
        v2: true,
        token: None,
        json: Some(serde_json::json!({ "name": format!("local/{user}") }).to_string()),
    };
    let resp = exchange(target, req).await?;
    match resp.status {
        StatusCode::OK => {
            let body: TokenBody = serde_json::from_slice(&resp.body)
                .map_err(|e| PairError::BadAnswer(format!("200 without a token: {e}")))?;
            let token = Token::parse(&body.token)
                .map_err(|e: TokenError| PairError::BadAnswer(e.to_string()))?;
            Ok(Answer::Token(token))
        }
        StatusCode::FORBIDDEN if error_text(&resp.body) == "user:creation-not-enabled" => {
            Ok(Answer::NotPressed)
        }
        StatusCode::NOT_FOUND => Err(PairError::NoApiV2),
        status => Err(PairError::Refused {
            status,
            error: error_text(&resp.body),
        }),
    }
}

/// `GET /api` with `token`: checks that the token works, and names the device.
pub async fn device_info(target: &Target, token: &Token) -> Result<DeviceInfo, PairError> {
    let resp = exchange(target, Request::get(v2::INFO_PATH, true, Some(token))).await?;
    if resp.status != StatusCode::OK {
        return Err(PairError::Refused {
            status: resp.status,
            error: error_text(&resp.body),
        });
    }
    serde_json::from_slice(&resp.body).map_err(|e| PairError::BadAnswer(format!("GET /api: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_the_device_rules() {
        assert!(check_user(DEFAULT_USER).is_ok());
        assert!(check_user("my app/#2 \\x").is_ok());
        assert!(check_user("").is_err());
        assert!(check_user(&"a".repeat(41)).is_err());
        assert!(check_user("é").is_err());
    }

    #[test]
    fn error_codes_are_read_from_json_or_shown_raw() {
        assert_eq!(
            error_text(br#"{"error":"user:creation-not-enabled"}"#),
            "user:creation-not-enabled"
        );
        assert_eq!(error_text(b"  oops \n"), "oops");
    }
}
