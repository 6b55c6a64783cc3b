//! A blocking HTTP/1.1 client of a few lines over a `TcpStream` or a
//! rustls stream, one request per connection read to its end, so nothing
//! about the server's HTTP stack is assumed: what tests/operator_http.rs,
//! tests/prometheus_e2e.rs and tests/gzip_members.rs share (the exporter,
//! and Prometheus' API).

use rustls::pki_types::ServerName;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

/// How long a read may wait for the peer.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A response: its status, its head lower-cased (for `contains` checks on
/// headers), and its body (de-chunked when it came chunked).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET path` with `headers` on an open stream, with `Connection: close`.
pub fn exchange(
    s: &mut (impl Read + Write),
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
        .map_err(|e| format!("write to {host}: {e}"))?;
    let mut raw = Vec::new();
    // A TLS peer that closes without close_notify still gave us the body.
    if let Err(e) = s.read_to_end(&mut raw) {
        if raw.is_empty() {
            return Err(format!("read from {host}: {e}"));
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            format!(
                "no response head from {host}{path} in {:?}",
                String::from_utf8_lossy(&raw)
            )
        })?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line from {host}{path}: {head}"))?;
    let mut body = raw[split + 4..].to_vec();
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    if chunked {
        body = dechunk(&body).ok_or_else(|| format!("bad chunked body from {host}{path}"))?;
    }
    Ok(Reply { status, head, body })
}

/// `GET path` over plain TCP to `addr` (`host:port`).
pub fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| e.to_string())?;
    exchange(&mut s, addr, path, headers)
}

/// `GET path` over TLS to `addr`, as `localhost` (the name the test
/// certificates carry), with the client `cfg`.
pub fn tls_get(
    addr: &str,
    cfg: &Arc<rustls::ClientConfig>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let tcp = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    tcp.set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(cfg.clone(), name).map_err(|e| e.to_string())?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    exchange(&mut s, addr, path, headers)
}

/// A `Transfer-Encoding: chunked` body's data; `None` when it is cut off
/// or not chunked.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
