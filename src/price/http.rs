//! One HTTP(S) GET of a price document: hyper's HTTP/1.1 client over
//! tokio's TCP, with rustls (ring) and Mozilla's root certificates
//! (`webpki-roots`, compiled in, so a container without a CA bundle still
//! verifies). A timeout on the whole exchange, a cap on the body, no
//! redirects followed.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};

/// The largest body read: a month of quarter-hour prices is well below.
pub const MAX_BODY: usize = 8 << 20;

/// Why a fetch failed. The URL is never part of it: ENTSO-E's carries the
/// token.
#[derive(Debug, Error)]
pub enum FetchError {
    /// Not an `http(s)://host[:port]/…` URL.
    #[error("not an http:// or https:// URL")]
    Url,
    /// No connection (DNS, refused, unreachable).
    #[error("cannot connect to {host}: {source}")]
    Connect {
        host: String,
        source: std::io::Error,
    },
    /// The TLS handshake or certificate check failed.
    #[error("TLS with {host}: {source}")]
    Tls {
        host: String,
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(String),
    /// An answer other than 200, with its body (shown cut short).
    #[error("HTTP status {status}: {}", snippet(body))]
    Status { status: u16, body: String },
    /// The whole exchange took longer than its timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// The start of an error body, on one line.
fn snippet(body: &str) -> String {
    let one_line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// GETs `url`; the body of a 200 answer.
pub async fn get(url: &str, timeout: Duration) -> Result<Bytes, FetchError> {
    match tokio::time::timeout(timeout, fetch(url)).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout(timeout)),
    }
}

async fn fetch(url: &str) -> Result<Bytes, FetchError> {
    let uri: Uri = url.parse().map_err(|_| FetchError::Url)?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(FetchError::Url),
    };
    let host = uri.host().ok_or(FetchError::Url)?.to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let connect_host = host.trim_start_matches('[').trim_end_matches(']');
    let stream = tokio::net::TcpStream::connect((connect_host, port))
        .await
        .map_err(|source| FetchError::Connect {
            host: authority.clone(),
            source,
        })?;
    if !tls {
        return exchange(stream, &authority, &path).await;
    }
    let name = ServerName::try_from(connect_host.to_owned()).map_err(|_| FetchError::Url)?;
    let stream = tokio_rustls::TlsConnector::from(client_config()?)
        .connect(name, stream)
        .await
        .map_err(|source| FetchError::Tls {
            host: authority.clone(),
            source,
        })?;
    exchange(stream, &authority, &path).await
}

/// One GET on an open connection.
async fn exchange<S>(stream: S, authority: &str, path: &str) -> Result<Bytes, FetchError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = |e: hyper::Error| FetchError::Http(e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    let conn = tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONNECTION, "close")
        .header(
            hyper::header::USER_AGENT,
            concat!("dsmr-exporter/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let result = async {
        let resp = sender.send_request(req).await.map_err(http)?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?
            .to_bytes();
        if status != 200 {
            let body = String::from_utf8_lossy(&body[..body.len().min(64 << 10)]).into_owned();
            return Err(FetchError::Status { status, body });
        }
        Ok(body)
    }
    .await;
    conn.abort();
    result
}

/// One TLS client configuration for the process: ring, Mozilla's roots.
fn client_config() -> Result<Arc<rustls::ClientConfig>, FetchError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| FetchError::Http(format!("TLS set-up: {e}")))
}
