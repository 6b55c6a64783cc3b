//! API v2: `GET https://HOST/api/telegram` with `X-Api-Version: 2` and
//! the bearer token. 401 means the token is wrong or was revoked; 503 that
//! the device has no telegram from the meter yet.

use super::client::{exchange, Request, Target};
use super::poller::PollError;
use super::token::Token;
use super::HomewizardConfig;
use bytes::Bytes;
use hyper::StatusCode;

/// The API path of the raw telegram.
pub const TELEGRAM_PATH: &str = "/api/telegram";

/// The device information path: 401 without a token on v2 devices.
pub const INFO_PATH: &str = "/api";

/// Fetches the telegram once from `cfg`'s device over API v2, with the
/// token of `cfg` (its file read now).
pub async fn poll(cfg: &HomewizardConfig) -> Result<Bytes, PollError> {
    let token = cfg.token.load().map_err(PollError::Token)?;
    fetch(&cfg.v2_target()?, &token).await
}

/// One GET of the telegram on a new TLS connection.
pub(crate) async fn fetch(target: &Target, token: &Token) -> Result<Bytes, PollError> {
    let resp = exchange(target, Request::get(TELEGRAM_PATH, true, Some(token))).await?;
    match resp.status {
        StatusCode::OK => Ok(resp.body),
        StatusCode::UNAUTHORIZED => Err(PollError::Unauthorized),
        StatusCode::SERVICE_UNAVAILABLE => Err(PollError::NoTelegram),
        other => Err(PollError::Status(other, "")),
    }
}
