//! One HTTP/1.1 exchange with a HomeWizard device: a new connection
//! (plain for API v1, TLS for v2), one request, the whole body (at most
//! 64 KiB), all within a timeout. The device is on the LAN; one small
//! request a second on a fresh connection costs nothing.

use super::tls;
use super::token::Token;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};

/// A telegram is a few kB and a JSON answer less; anything far larger is
/// neither.
const MAX_BODY: usize = 64 * 1024;

/// Where a device's requests go, and how it is trusted (built once, used
/// for every request): `address` is `HOST:PORT` for the socket and the
/// `Host` header, `host` the bare host (for TLS).
#[derive(Clone)]
pub struct Target {
    pub(crate) address: String,
    pub(crate) host: String,
    /// `None` for plain HTTP.
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) timeout: Duration,
}

/// One request: the method, path, token and JSON body.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'a str,
    /// API v2 (`X-Api-Version: 2`).
    pub(crate) v2: bool,
    pub(crate) token: Option<&'a Token>,
    pub(crate) json: Option<String>,
}

impl<'a> Request<'a> {
    /// A GET of `path`.
    pub(crate) fn get(path: &'a str, v2: bool, token: Option<&'a Token>) -> Request<'a> {
        Request {
            method: Method::GET,
            path,
            v2,
            token,
            json: None,
        }
    }
}

/// What the device answered.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

/// Why an exchange got no answer.
#[derive(Debug, Error)]
pub enum ExchangeError {
    /// The device is unreachable (off, wrong address, another network).
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// The TLS handshake failed: the certificate was refused, or the port
    /// does not speak TLS.
    #[error("TLS: {}", tls_text(.0))]
    Tls(std::io::Error),
    /// The HTTP exchange broke off.
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// The address does not make a valid request (a bad `Host`).
    #[error("cannot build the request: {0}")]
    Request(#[from] hyper::http::Error),
    /// The body broke off or is larger than a telegram can be.
    #[error("reading the body: {0}")]
    Body(String),
    /// The whole exchange took longer than its timeout.
    #[error("no answer within {}", crate::duration::format(*.0))]
    Timeout(Duration),
}

/// A TLS error in words: our own refusal of the certificate as it is.
fn tls_text(e: &std::io::Error) -> String {
    match tls::refusal(e) {
        Some(r) => r.to_string(),
        None => e.to_string(),
    }
}

/// Sends `req` to `target` on a new connection and reads the answer.
pub(crate) async fn exchange(target: &Target, req: Request<'_>) -> Result<Response, ExchangeError> {
    match tokio::time::timeout(target.timeout, connect_and_send(target, req)).await {
        Ok(r) => r,
        Err(_) => Err(ExchangeError::Timeout(target.timeout)),
    }
}

async fn connect_and_send(target: &Target, req: Request<'_>) -> Result<Response, ExchangeError> {
    let tcp = tokio::net::TcpStream::connect(&target.address)
        .await
        .map_err(ExchangeError::Connect)?;
    match &target.tls {
        None => send(tcp, &target.address, req).await,
        Some(config) => {
            let connector = tokio_rustls::TlsConnector::from(config.clone());
            let stream = connector
                .connect(tls::server_name(&target.host), tcp)
                .await
                .map_err(ExchangeError::Tls)?;
            send(stream, &target.address, req).await
        }
    }
}

/// One request on an open stream.
async fn send<S>(stream: S, host: &str, req: Request<'_>) -> Result<Response, ExchangeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection task ends with the exchange (or when this future is
    // dropped on timeout, taking `sender` with it).
    let conn = tokio::spawn(conn);
    let mut builder = hyper::Request::builder()
        .method(req.method)
        .uri(req.path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::CONNECTION, "close")
        .header(
            hyper::header::USER_AGENT,
            concat!("dsmr-exporter/", env!("CARGO_PKG_VERSION")),
        );
    builder = if req.json.is_some() {
        builder.header(hyper::header::CONTENT_TYPE, "application/json")
    } else {
        builder.header(hyper::header::ACCEPT, "text/plain, application/json, */*")
    };
    if req.v2 {
        builder = builder.header("X-Api-Version", "2");
    }
    if let Some(token) = req.token {
        builder = builder.header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", token.expose()),
        );
    }
    let request = builder.body(Full::new(Bytes::from(req.json.unwrap_or_default())))?;
    let result = async {
        let resp = sender.send_request(request).await?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| ExchangeError::Body(e.to_string()))?;
        Ok(Response {
            status,
            body: body.to_bytes(),
        })
    }
    .await;
    conn.abort();
    result
}
