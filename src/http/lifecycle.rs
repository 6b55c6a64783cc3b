//! `POST /-/reload`: the handle through which the server asks whoever runs
//! the meters (`main`'s reload supervisor) to re-read the configuration,
//! and waits for the outcome. Only there with `--web.enable-lifecycle`.

use tokio::sync::{mpsc, oneshot};

/// One reload request: the outcome goes back on the `oneshot`, `Ok` with
/// what was done, `Err` with why the new configuration was refused.
pub type ReloadRequest = oneshot::Sender<Result<String, String>>;

/// The server's end of the reload channel.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    tx: mpsc::Sender<ReloadRequest>,
}

impl PartialEq for Lifecycle {
    fn eq(&self, other: &Lifecycle) -> bool {
        self.tx.same_channel(&other.tx)
    }
}

impl Eq for Lifecycle {}

impl Lifecycle {
    /// A handle for the server and the receiver the supervisor reads.
    /// Requests queue (a few at most); each is answered in turn.
    pub fn channel() -> (Lifecycle, mpsc::Receiver<ReloadRequest>) {
        let (tx, rx) = mpsc::channel(4);
        (Lifecycle { tx }, rx)
    }

    /// Asks for a reload and waits for its outcome.
    pub async fn reload(&self) -> Result<String, String> {
        let (reply, outcome) = oneshot::channel();
        if self.tx.send(reply).await.is_err() {
            return Err("reloading is not running".to_owned());
        }
        outcome
            .await
            .unwrap_or_else(|_| Err("the reload was dropped".to_owned()))
    }
}
