//! The server in-process on a free loopback port, and a client of a few
//! lines of HTTP/1.1 over a `TcpStream`, so nothing about hyper is assumed:
//! what tests/server.rs and tests/web.rs share.

use dsmr_exporter::http::{serve, serve_with_limits, Limits, ServerConfig};
use dsmr_exporter::state::{Meter, Meters};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server and the means to stop it; dropping it stops it too.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(
        meters: Vec<Arc<Meter>>,
        cfg: ServerConfig,
        limits: Option<Limits>,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let meters = Meters::new(meters);
        let task = match limits {
            None => tokio::spawn(serve(listener, meters, cfg, shutdown)),
            Some(l) => tokio::spawn(serve_with_limits(listener, meters, cfg, l, shutdown)),
        };
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Fires the shutdown future and waits for `serve` to return without
    /// error; how long that took.
    pub async fn shutdown(mut self) -> Duration {
        let t = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("serve returned after shutdown")
            .expect("serve did not panic");
        assert!(result.is_ok(), "{result:?}");
        t.elapsed()
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The status line and headers as sent, for checks on the raw text.
    pub head: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection (`Connection: close`), read to EOF.
/// Every response the server sends is text, so it must be UTF-8.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .expect("reply within 5 s")
        .expect("read");
    parse(String::from_utf8(raw).expect("a UTF-8 response"))
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[]).await
}

fn parse(text: String) -> Reply {
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        head: head.to_owned(),
        headers,
        body: body.to_owned(),
    }
}
