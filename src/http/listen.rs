//! The listening sockets: one per `--web.listen-address` (IPv4 and IPv6
//! alike), or the ones systemd passes with socket activation
//! (`--web.systemd-socket`).
//!
//! systemd's protocol (sd_listen_fds(3)): the sockets are file descriptors
//! 3, 4, ... and `LISTEN_FDS` says how many, for the process whose id is
//! `LISTEN_PID`. The CLI reads and checks those variables (only it reads
//! the environment) and hands over the count; this module only turns the
//! descriptors into listeners.

use std::io;
use tokio::net::TcpListener;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// Binds every address (`HOST:PORT`, `[V6]:PORT`); the error names the
/// address that failed.
pub async fn bind(addresses: &[String]) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::with_capacity(addresses.len());
    for a in addresses {
        let l = TcpListener::bind(a)
            .await
            .map_err(|e| format!("cannot listen on {a}: {e}"))?;
        out.push(l);
    }
    Ok(out)
}

/// The `count` listening sockets systemd passed, as descriptors 3 to
/// 3 + `count` - 1. Each must be a listening TCP socket (a `.socket` unit
/// with `ListenStream=`); anything else is refused, naming the descriptor.
#[cfg(unix)]
pub fn systemd(count: usize) -> Result<Vec<TcpListener>, String> {
    use std::os::fd::FromRawFd;
    if count == 0 {
        return Err("--web.systemd-socket: systemd passed no socket (LISTEN_FDS=0)".to_owned());
    }
    let last = i32::try_from(count)
        .ok()
        .and_then(|n| FIRST_FD.checked_add(n))
        .ok_or_else(|| format!("--web.systemd-socket: LISTEN_FDS={count} is too many"))?;
    (FIRST_FD..last)
        .map(|fd| {
            // SAFETY: under socket activation systemd hands this process
            // descriptors 3 .. 3 + LISTEN_FDS, open and owned by nobody
            // else in it (the CLI checked that LISTEN_PID is this process);
            // each is taken exactly once, here.
            let std = unsafe { std::net::TcpListener::from_raw_fd(fd) };
            let bad = |e: io::Error| format!("--web.systemd-socket: descriptor {fd}: {e}");
            std.local_addr().map_err(bad)?;
            std.set_nonblocking(true).map_err(bad)?;
            TcpListener::from_std(std).map_err(bad)
        })
        .collect()
}

/// Socket activation is a systemd (Unix) protocol.
#[cfg(not(unix))]
pub fn systemd(_count: usize) -> Result<Vec<TcpListener>, String> {
    Err("--web.systemd-socket: socket activation needs a Unix system".to_owned())
}
