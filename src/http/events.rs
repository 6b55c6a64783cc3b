//! `/events`: Server-Sent Events, one `meter` event per meter when the
//! client connects, then one each time that meter's watch channel is poked
//! (every valid telegram, every change of the source's state).
//!
//! The cost does not grow with readers times meters: one [`Hub`] per
//! server watches the meters (one small task per meter, started with the
//! first reader) and builds each meter's event once per change, shared by
//! all readers. Each reader only keeps which meters changed since it was
//! last sent them: a reader that is slow or never reads gets the latest
//! event of each changed meter when it catches up, never a backlog, and
//! holds at most a few frames. The number of readers is capped by the
//! routes. Each stream ends by itself before the server's connection
//! lifetime (EventSource reconnects) and at shutdown.

use super::api::meter_json;
use crate::state::{Meter, Meters};
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch, OwnedSemaphorePermit};

/// A built event is reused for at most this long, so a meter that went
/// quiet shows as stale to a reader that connects later.
const REUSE: Duration = Duration::from_secs(1);

/// The meters' changes, and each meter's latest event, shared by all readers.
#[derive(Debug)]
pub struct Hub {
    meters: Vec<Arc<Meter>>,
    stale_after: Duration,
    /// Per meter: its change count and the event last built, with the
    /// change count and time it was built at.
    latest: Vec<Mutex<Latest>>,
    /// Index of each meter that changed; a reader that lags resends all.
    changes: broadcast::Sender<usize>,
    started: Once,
}

#[derive(Debug, Default)]
struct Latest {
    version: u64,
    built: Option<(u64, Instant, Bytes)>,
}

impl Hub {
    /// A hub over `meters`; nothing runs until the first reader.
    pub fn new(meters: &Meters, stale_after: Duration) -> Arc<Hub> {
        let meters: Vec<Arc<Meter>> = meters.iter().cloned().collect();
        let (changes, _) = broadcast::channel(meters.len().clamp(16, 4096));
        Arc::new(Hub {
            latest: meters.iter().map(|_| Mutex::default()).collect(),
            meters,
            stale_after,
            changes,
            started: Once::new(),
        })
    }

    /// One task per meter that turns its watch wake-ups into a new
    /// version and a broadcast index. Must be called inside a Tokio runtime.
    fn start(self: &Arc<Self>, stop: &watch::Receiver<bool>) {
        self.started.call_once(|| {
            for (i, m) in self.meters.iter().enumerate() {
                let mut changes = m.subscribe();
                let hub = Arc::downgrade(self);
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            r = changes.changed() => if r.is_err() { return },
                            _ = stop.wait_for(|s| *s) => return,
                        }
                        let Some(hub) = hub.upgrade() else { return };
                        if let Some(l) = hub.latest.get(i) {
                            l.lock().unwrap_or_else(|e| e.into_inner()).version += 1;
                        }
                        // No receiver is fine: nobody is reading.
                        let _ = hub.changes.send(i);
                    }
                });
            }
        });
    }

    /// Meter `i`'s current event, built at most once per change (and
    /// [`REUSE`]) whatever the number of readers.
    fn event(&self, i: usize) -> Option<Bytes> {
        let m = self.meters.get(i)?;
        let mut l = self
            .latest
            .get(i)?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some((v, at, b)) = &l.built {
            if *v == l.version && now.duration_since(*at) < REUSE {
                return Some(b.clone());
            }
        }
        let b = meter_event(m, now, self.stale_after);
        l.built = Some((l.version, now, b.clone()));
        Some(b)
    }
}

/// The body of `/events`: frames pushed by the stream's task.
#[derive(Debug)]
pub struct EventBody {
    rx: mpsc::Receiver<Bytes>,
    /// This reader's place under the routes' cap, given back with the body.
    _slot: OwnedSemaphorePermit,
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

/// Starts the task of one `/events` client and returns its body. Must be
/// called inside a Tokio runtime.
pub fn event_stream(
    hub: &Arc<Hub>,
    opts: StreamOptions,
    mut stop: watch::Receiver<bool>,
    slot: OwnedSemaphorePermit,
) -> EventBody {
    hub.start(&stop);
    // A few frames: a reader that does not read holds no more than these.
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    // Subscribed before the first events are built, so no change is missed.
    let mut changes = hub.changes.subscribe();
    let hub = hub.clone();
    let n = hub.meters.len();
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
        // The meters to send, each once however often it changed meanwhile;
        // all of them at first.
        let mut pending = vec![true; n];
        let mut queue: VecDeque<usize> = (0..n).collect();
        loop {
            let frame = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return,
                () = &mut end => return,
                () = tx.closed() => return,
                r = changes.recv() => {
                    match r {
                        Ok(i) => {
                            if let Some(p) = pending.get_mut(i) {
                                if !*p {
                                    *p = true;
                                    queue.push_back(i);
                                }
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            pending.iter_mut().for_each(|p| *p = true);
                            queue = (0..n).collect();
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                    continue;
                }
                permit = tx.reserve(), if !queue.is_empty() => {
                    let Ok(permit) = permit else { return };
                    let Some(i) = queue.pop_front() else { continue };
                    if let Some(p) = pending.get_mut(i) {
                        *p = false;
                    }
                    if let Some(b) = hub.event(i) {
                        permit.send(b);
                    }
                    continue;
                }
                () = tokio::time::sleep(opts.keepalive), if queue.is_empty() => {
                    Bytes::from_static(b": keepalive\n\n")
                }
            };
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    EventBody { rx, _slot: slot }
}

/// One `meter` event: the meter's API document as its data.
pub(crate) fn meter_event(m: &Meter, now: Instant, stale_after: Duration) -> Bytes {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"event: meter\ndata: ");
    meter_json(&mut out, m, now, stale_after);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsmr_engine::Zone;
    use http_body_util::BodyExt;
    use tokio::sync::Semaphore;

    fn opts() -> StreamOptions {
        StreamOptions {
            stale_after: Duration::from_secs(30),
            lifetime: Duration::from_secs(60),
            keepalive: Duration::from_secs(60),
        }
    }

    /// A reader that reads nothing while a meter changes a thousand times
    /// holds a few frames, and then gets the meter's latest state, not a
    /// backlog; the event is built once for all readers.
    #[tokio::test]
    async fn a_reader_that_falls_behind_gets_the_latest_state_only() {
        let m = Meter::new("main", Zone::CET);
        let meters = Meters::new(vec![m.clone()]);
        let hub = Hub::new(&meters, Duration::from_secs(30));
        let slots = Arc::new(Semaphore::new(2));
        let (_stop_tx, stop) = watch::channel(false);
        let take = |slots: &Arc<Semaphore>| slots.clone().try_acquire_owned();
        let (Ok(a), Ok(b)) = (take(&slots), take(&slots)) else {
            panic!("two places")
        };
        let mut first = event_stream(&hub, opts(), stop.clone(), a);
        let _second = event_stream(&hub, opts(), stop, b);
        for i in 0..1000 {
            m.set_source_up(i % 2 == 0);
            tokio::task::yield_now().await;
        }
        m.set_source_up(true);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut frames = Vec::new();
        while let Ok(Some(Ok(f))) =
            tokio::time::timeout(Duration::from_millis(200), first.frame()).await
        {
            if let Ok(d) = f.into_data() {
                frames.push(String::from_utf8_lossy(&d).into_owned());
            }
        }
        // `retry`, then a handful of meter events, the last one current.
        assert!(frames.len() <= 8, "{} frames: a backlog", frames.len());
        let last = frames.last().cloned().unwrap_or_default();
        assert!(last.contains("\"source_up\":true"), "{last}");
        // Both readers share the built events.
        let built = hub.latest[0]
            .lock()
            .map(|l| l.built.is_some())
            .unwrap_or(false);
        assert!(built);
    }
}
