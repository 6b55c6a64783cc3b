//! API v1: `GET http://HOST/api/v1/telegram`, no authentication, once
//! "Local API" is switched on in the HomeWizard app. Frozen by HomeWizard
//! and to be removed in a later firmware; kept for devices without v2.

use super::client::{exchange, Request, Target};
use super::poller::PollError;
use super::HomewizardConfig;
use bytes::Bytes;
use hyper::StatusCode;

/// The API path of the raw telegram.
pub const TELEGRAM_PATH: &str = "/api/v1/telegram";

/// Fetches the telegram once from `cfg`'s device over API v1.
pub async fn poll(cfg: &HomewizardConfig) -> Result<Bytes, PollError> {
    fetch(&cfg.v1_target()).await
}

/// One GET of the telegram on a new connection.
pub(crate) async fn fetch(target: &Target) -> Result<Bytes, PollError> {
    let resp = exchange(target, Request::get(TELEGRAM_PATH, false, None)).await?;
    if !resp.status.is_success() {
        return Err(PollError::Status(resp.status, status_hint(resp.status)));
    }
    Ok(resp.body)
}

/// The usual fix for a status a dongle with its local API off answers.
fn status_hint(status: StatusCode) -> &'static str {
    if status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND {
        " (is the local API switched on in the HomeWizard app? With firmware 6 or later, \
         use API v2: dsmr-exporter homewizard pair HOST)"
    } else {
        ""
    }
}
