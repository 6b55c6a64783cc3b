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
                    Ok(r) => r.map(ShortReadDrains),
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

/// A TCP stream whose short read ends the wait for data at once.
///
/// A meter's telegram mostly arrives in one read of fewer bytes than the
/// buffer holds: then the socket had nothing more, and the next read would
/// only fail with `WouldBlock` to tell tokio so. With 10 000 meters that
/// was 10 000 useless `recv` calls a second. Here a short read clears the
/// socket's readiness itself; tokio keeps readiness that a newer event set
/// in the meantime (it compares the event's tick), so no data is missed.
#[derive(Debug)]
struct ShortReadDrains(tokio::net::TcpStream);

impl tokio::io::AsyncRead for ShortReadDrains {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let stream = &self.0;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            match stream.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            let unfilled = buf.initialize_unfilled();
            let room = unfilled.len();
            let mut got = 0;
            let r = stream.try_io(tokio::io::Interest::READABLE, || {
                got = stream.try_read(unfilled)?;
                if got > 0 && got < room {
                    // Drained: clear the readiness (the bytes are kept).
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(got)
            });
            match r {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if got > 0 {
                        buf.advance(got);
                        return Poll::Ready(Ok(()));
                    }
                    // Nothing there after all: wait for the next event.
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn short_reads_lose_no_byte() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let writer = tokio::spawn(async move {
            let (mut c, _) = listener.accept().await.expect("accept");
            for i in 0..200u32 {
                // Sizes below, at and above the reader's buffer.
                let chunk = vec![(i % 251) as u8; (i as usize * 37) % 9000 + 1];
                c.write_all(&chunk).await.expect("write");
                if i % 7 == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        });
        let mut s = ShortReadDrains(tokio::net::TcpStream::connect(addr).await.expect("connect"));
        let mut got = Vec::new();
        let mut buf = vec![0; 4096];
        loop {
            let n = s.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.expect("writer");
        let want: Vec<u8> = (0..200u32)
            .flat_map(|i| std::iter::repeat_n((i % 251) as u8, (i as usize * 37) % 9000 + 1))
            .collect();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the bytes differ");
    }
}
