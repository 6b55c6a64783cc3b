//! The meters' own thread: every meter's task runs on one current-thread
//! runtime, apart from the server's workers, and that thread wakes up for
//! many telegrams at once.
//!
//! With 10 000 meters a telegram arrives every 100 µs. On the server's
//! multi-thread runtime each one woke a worker from `epoll_wait`, and that
//! worker often woke the other to share the task: about 5 000 context
//! switches a second, the largest part of the exporter's CPU
//! (docs/scale.md). Here one thread takes every meter, and when it runs out
//! of work it first sleeps [`BATCH`] before it asks the kernel for more: the
//! next `epoll_wait` then returns the sockets of every meter that sent
//! meanwhile (500 at 10 000 meters), and the thread wakes 20 times a second
//! instead of 10 000. A telegram is recorded at most [`BATCH`] later,
//! which no reading shows (a meter's clock counts whole seconds, the
//! fastest meters send once a second); a timer fires, and a reply to a
//! request (a HomeWizard poll) is read, at most that late.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long the meters' thread waits, once idle, before it looks for the
/// next telegrams. Each wake-up costs the process tens of microseconds on
/// a virtual machine whose core was idle, so the fewer the better, up to
/// what a reading or a request can wait. 10 000 meters measured 16.5 to
/// 17.4 % of a core on the server's workers, 15.2 % on this thread without
/// the wait, 14.1 % with 2 ms, 11.7 to 13.1 % with 5 ms, 10.9 to 11.7 %
/// with 10 ms; later, alternated, about 0.4 points less with 50 ms than
/// with 10 ms, and 100 meters 0.33 % instead of 1.0 to 1.2 % (round seven
/// in docs/scale.md). 100 ms saved little more (0.22 %) and would add
/// 100 ms to each round trip of a HomeWizard poll.
pub const BATCH: Duration = Duration::from_millis(50);

/// The thread the meters' tasks run on. Dropping it stops the runtime and
/// with it every meter's task.
#[derive(Debug)]
pub struct MeterRuntime {
    handle: Handle,
    parks: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
}

impl MeterRuntime {
    /// Starts the thread, waiting [`BATCH`] before each sleep.
    pub fn start() -> io::Result<MeterRuntime> {
        MeterRuntime::with_batch(BATCH)
    }

    /// Starts the thread with another wait (zero: none), for comparisons.
    pub fn with_batch(batch: Duration) -> io::Result<MeterRuntime> {
        let parks = Arc::new(AtomicU64::new(0));
        let counted = parks.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Names the runtime's blocking threads; the meters' own
            // thread is the one spawned below.
            .thread_name("meters-blocking")
            .on_thread_park(move || {
                counted.fetch_add(1, Ordering::Relaxed);
                if !batch.is_zero() {
                    std::thread::sleep(batch);
                }
            })
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("meters".into())
            .spawn(move || {
                // Until the owner is dropped (the sender with it).
                let _ = rt.block_on(stopped);
                // Meters' tasks loop forever: do not wait long for them.
                rt.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(MeterRuntime {
            handle,
            parks,
            stop: Some(stop),
        })
    }

    /// Runs a meter's task on the thread.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }

    /// How many times the thread has run out of work and slept: one per
    /// batch of wake-ups.
    pub fn parks(&self) -> u64 {
        self.parks.load(Ordering::Relaxed)
    }
}

impl Drop for MeterRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// 40 sockets, each sent a byte in turn every 200 µs for 0.4 s (2 000
    /// sends); counts the thread's sleeps with and without the batch wait.
    async fn parks_for(batch: Duration) -> (u64, usize) {
        let rt = MeterRuntime::with_batch(batch).expect("runtime");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        let mut writers = Vec::new();
        for _ in 0..40 {
            let done_tx = done_tx.clone();
            rt.spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let mut got = 0usize;
                let mut buf = [0u8; 64];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                }
                let _ = done_tx.send(got);
            });
            writers.push(listener.accept().await.expect("accept").0);
        }
        drop(done_tx);
        let before = rt.parks();
        let start = Instant::now();
        for i in 0..2000u32 {
            let due = start + Duration::from_micros(200) * i;
            while Instant::now() < due {
                std::hint::spin_loop();
            }
            let w = &mut writers[i as usize % 40];
            w.write_all(b"x").await.expect("write");
        }
        drop(writers);
        let mut total = 0;
        while let Some(n) = done.recv().await {
            total += n;
        }
        (rt.parks() - before, total)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn one_wake_up_takes_many_sockets() {
        let (batched, got) = parks_for(BATCH).await;
        assert_eq!(got, 2000, "every byte reaches its reader");
        // 0.4 s in waits of 50 ms: about 8 sleeps (with the set-up's and the
        // end's), not one per send; a loaded machine may stretch the
        // sending, hence the room.
        assert!(
            batched < 200,
            "{batched} sleeps for 2 000 sends: the thread does not batch"
        );
        let (unbatched, got) = parks_for(Duration::ZERO).await;
        assert_eq!(got, 2000);
        // 1 190 to 1 450 measured, with builds beside: most sends wake it.
        assert!(
            unbatched > 2 * batched,
            "without the wait {unbatched} sleeps, with it {batched}"
        );
    }

    #[tokio::test]
    async fn dropping_it_stops_the_meters_tasks() {
        let rt = MeterRuntime::start().expect("runtime");
        let (tx, rx) = oneshot::channel::<()>();
        let task = rt.spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await
        });
        drop(rt);
        // The task's sender is dropped with the task.
        let closed = tokio::time::timeout(Duration::from_secs(5), rx).await;
        assert!(matches!(closed, Ok(Err(_))), "the task still runs");
        assert!(task.await.is_err_and(|e| e.is_cancelled()));
    }
}
