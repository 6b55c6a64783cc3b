//! `/events`: Server-Sent Events, one `meter` event per meter when the
//! client connects, then one each time that meter's watch channel is poked
//! (every valid telegram, every change of the source's state).
//!
//! The document is the API's ([`super::api`]), built once per event per
//! client, only when a telegram lands, so a connected page costs a scrape
//! nothing. Each stream ends by itself before the server's connection
//! lifetime (EventSource reconnects) and at shutdown.

use super::api::meter_json;
use crate::state::{Meter, Meters};
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The body of `/events`: frames pushed by the stream's task.
#[derive(Debug)]
pub struct EventBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// How a client's event stream behaves.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// A meter without a valid telegram for this long shows as not fresh.
    pub stale_after: Duration,
    /// The stream ends after this; EventSource reconnects.
    pub lifetime: Duration,
    /// A comment is sent after this much silence, so proxies and the
    /// browser keep the connection and a gone client is noticed.
    pub keepalive: Duration,
}

/// Starts the tasks of one `/events` client and returns its body. Must be
/// called inside a Tokio runtime.
pub fn event_stream(
    meters: &Meters,
    opts: StreamOptions,
    mut stop: watch::Receiver<bool>,
) -> EventBody {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let (ping_tx, mut ping_rx) = mpsc::channel::<usize>(meters.len().max(1));
    let list: Vec<Arc<Meter>> = meters.iter().cloned().collect();
    // One small forwarder per meter turns its watch wake-ups into indices.
    for (i, m) in list.iter().enumerate() {
        let mut changes = m.subscribe();
        changes.mark_changed(); // the current state is sent at once
        let ping = ping_tx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    () = ping.closed() => return,
                }
                if ping.send(i).await.is_err() {
                    return;
                }
            }
        });
    }
    drop(ping_tx);
    tokio::spawn(async move {
        let end = tokio::time::sleep(opts.lifetime);
        tokio::pin!(end);
        // Reconnect quickly after the stream ends by itself.
        if tx
            .send(Bytes::from_static(b"retry: 1000\n\n"))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let frame = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return,
                () = &mut end => return,
                () = tx.closed() => return,
                i = ping_rx.recv() => {
                    let Some(i) = i else { return };
                    meter_event(&list[i], Instant::now(), opts.stale_after)
                }
                () = tokio::time::sleep(opts.keepalive) => Bytes::from_static(b": keepalive\n\n"),
            };
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    EventBody { rx }
}

/// One `meter` event: the meter's API document as its data.
pub(crate) fn meter_event(m: &Meter, now: Instant, stale_after: Duration) -> Bytes {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"event: meter\ndata: ");
    meter_json(&mut out, m, now, stale_after);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}
