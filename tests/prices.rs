//! The price sources on their own: ENTSO-E documents and the generic rows
//! from fixtures/prices, and the fetch against local stand-in servers
//! (plain HTTP, and TLS with a certificate no root vouches for).

mod common;

use dsmr_exporter::cost::{FeedSource, Interval, Nanos, RowFormat};
use dsmr_exporter::price::entsoe::{self, EntsoeError};
use dsmr_exporter::price::fetch::fetch;
use dsmr_exporter::price::rows::{parse_csv, parse_json};
use dsmr_exporter::price::{FetchConfig, Token};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn text(name: &str) -> String {
    String::from_utf8(common::fixture(&format!("prices/{name}"))).expect("UTF-8")
}

/// 2025-10-01T22:00Z: midnight of 2 October in Amsterdam.
const DAY: i64 = 1_759_356_000;

/// The expected price of each quarter hour, nanos per kWh.
fn expected() -> Vec<Nanos> {
    text("expected_2025-10-02_pt15m.csv")
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| {
            let price = l.split(',').nth(1).expect("price");
            Nanos(dsmr_exporter::cost::money::parse_decimal(price, 6).expect("decimal"))
        })
        .collect()
}

fn check_day(ivs: &[Interval]) {
    let want = expected();
    assert_eq!(ivs.len(), 96);
    for (i, (iv, price)) in ivs.iter().zip(&want).enumerate() {
        let start = DAY + 900 * i as i64;
        assert_eq!(
            (iv.start, iv.end, iv.price),
            (start, start + 900, *price),
            "quarter {i}"
        );
    }
}

#[test]
fn an_entsoe_day_of_quarter_hours_fills_left_out_positions() {
    check_day(&entsoe::parse(&text("entsoe_a44_nl_2025-10-02_pt15m.xml")).unwrap());
}

#[test]
fn quarter_hours_win_over_the_hourly_series_of_the_same_day() {
    check_day(&entsoe::parse(&text("entsoe_a44_nl_2025-10-02_pt15m_and_pt60m.xml")).unwrap());
}

#[test]
fn no_data_is_an_acknowledgement_with_its_reason() {
    match entsoe::parse(&text("entsoe_acknowledgement_no_data.xml")) {
        Err(EntsoeError::Acknowledgement(why)) => {
            assert!(why.starts_with("No matching data found"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_suppliers_csv_and_json_give_the_same_hours() {
    let csv = parse_csv(&text("supplier_2025-10-02.csv")).unwrap();
    let json = parse_json(&text("supplier_2025-10-02.json")).unwrap();
    assert_eq!(csv, json);
    assert_eq!(csv.len(), 24);
    assert_eq!((csv[0].start, csv[0].price), (DAY, Nanos(200_000_000)));
    assert_eq!(csv[1].price, Nanos(212_300_000));
    assert_eq!(csv[23].end - csv[23].start, 3_600);
}

/// Answers one request with `status` and `body`; returns its URL and the
/// request it got.
async fn stand_in(status: &str, body: String) -> (String, tokio::task::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", l.local_addr().unwrap());
    let status = status.to_owned();
    let task = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let n = s.read(&mut buf).await.unwrap();
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(answer.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    (url, task)
}

fn config(url: &str) -> FetchConfig {
    FetchConfig {
        state_dir: None,
        entsoe_url: url.to_owned(),
        entsoe_token: Some(Token("secret-token".into())),
    }
}

#[tokio::test]
async fn an_entsoe_refusal_says_why_and_never_shows_the_token() {
    let ack = text("entsoe_acknowledgement_no_data.xml")
        .replace("No matching data found", "Unauthorized");
    let (url, got) = stand_in("401 Unauthorized", ack).await;
    let zone = FeedSource::Entsoe {
        zone: "10YBE----------2".into(),
    };
    let e = fetch(&zone, &config(&url), DAY).await.unwrap_err();
    assert!(e.starts_with("HTTP status 401: Unauthorized"), "{e}");
    assert!(!e.contains("secret-token"), "{e}");
    let request = got.await.unwrap();
    assert!(
        request.contains("in_Domain=10YBE----------2&out_Domain=10YBE----------2"),
        "{request}"
    );
    assert!(
        request.contains("periodStart=202509300000&periodEnd=202510040000"),
        "{request}"
    );
    // Without a token nothing is asked.
    let mut none = config(&url);
    none.entsoe_token = None;
    let e = fetch(&zone, &none, DAY).await.unwrap_err();
    assert!(e.contains("DSMR_EXPORTER_ENTSOE_TOKEN"), "{e}");
}

#[tokio::test]
async fn a_price_url_is_read_as_json() {
    let (url, _got) = stand_in("200 OK", text("supplier_2025-10-02.json")).await;
    let src = FeedSource::Url {
        url,
        format: RowFormat::Json,
    };
    let ivs = fetch(&src, &config(""), DAY).await.unwrap();
    assert_eq!(ivs.len(), 24);
}

#[tokio::test]
async fn https_checks_the_certificate_against_the_roots() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        // The client refuses the certificate: the handshake fails here too.
        acceptor.accept(s).await.is_err()
    });
    let src = FeedSource::Url {
        url: format!("https://localhost:{port}/prices.csv"),
        format: RowFormat::Csv,
    };
    let e = fetch(&src, &config(""), DAY).await.unwrap_err();
    assert!(e.starts_with(&format!("TLS with localhost:{port}")), "{e}");
    assert!(e.contains("certificate"), "{e}");
    assert!(server.await.unwrap());
}
