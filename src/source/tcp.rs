//! Raw telegrams over TCP: ser2net, Wi-Fi P1 dongles, anything that copies
//! the P1 bytes onto a socket.
//!
//! A connection that stays silent longer than the stale timeout is treated
//! as dead and reopened: a dongle that rebooted or a NAT that forgot the
//! connection often leaves a socket that never reports an error.

use super::feed::fmt_smarty;
use super::reconnect::{reconnect_loop, Retry};
use crate::state::Meter;
use dsmr_engine::smarty::SmartyKeys;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Where to connect and when to give up on a silent connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// `HOST:PORT`; the host is resolved again on every connect, so a
    /// dongle that changes address is found.
    pub address: String,
    /// A connection without any byte for this long is reopened.
    pub stale_after: Duration,
    /// How a dropped or refused connection is retried.
    pub retry: Retry,
    /// Keys of a Luxembourg (Smarty) meter, whose frames are encrypted.
    pub smarty: Option<SmartyKeys>,
}

impl TcpConfig {
    /// Connects to `address` with the default retry policy.
    pub fn new(address: impl Into<String>, stale_after: Duration) -> TcpConfig {
        TcpConfig {
            address: address.into(),
            stale_after,
            retry: Retry::default(),
            smarty: None,
        }
    }
}

impl fmt::Display for TcpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tcp {}", self.address)?;
        fmt_smarty(f, self.smarty.as_ref())
    }
}

/// The longest a connection attempt may take.
const MAX_CONNECT_TIME: Duration = Duration::from_secs(10);

/// Reads the connection forever, reconnecting whenever it drops or falls silent.
pub async fn run(cfg: TcpConfig, meter: Arc<Meter>) {
    let what = cfg.to_string();
    let connect_time = cfg.stale_after.min(MAX_CONNECT_TIME);
    let smarty = cfg.smarty.clone();
    reconnect_loop(
        meter,
        what,
        cfg.retry,
        Some(cfg.stale_after),
        smarty.as_ref(),
        || {
            let address = cfg.address.clone();
            async move {
                match tokio::time::timeout(connect_time, tokio::net::TcpStream::connect(&address))
                    .await
                {
                    Ok(r) => r,
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "connect timed out after {}",
                            crate::duration::format(connect_time)
                        ),
                    )),
                }
            }
        },
    )
    .await
}
