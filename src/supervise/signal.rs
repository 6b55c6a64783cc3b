//! SIGHUP as a reload request, as Prometheus and most daemons read it.
//! Installed before the exporter serves, so a SIGHUP never kills it (the
//! default action would).

use crate::http::Lifecycle;

/// Installs the SIGHUP handler now and sends a reload request through
/// `lifecycle` on every SIGHUP, in a task of the current runtime.
#[cfg(unix)]
pub fn reload_on_sighup(lifecycle: Lifecycle) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP received, reloading the configuration");
            // The outcome is logged by the supervisor.
            let _ = lifecycle.reload().await;
        }
    });
    Ok(())
}

/// No SIGHUP here; reloads come through `POST /-/reload` only.
#[cfg(not(unix))]
pub fn reload_on_sighup(_lifecycle: Lifecycle) -> std::io::Result<()> {
    Ok(())
}
