//! Luxembourg (Smarty) encrypted meters through a whole source: a real TCP
//! socket and an encrypted replay file, from the bytes on the wire to the
//! meter state. Frames are sealed with aes-gcm (tests/common/smarty.rs),
//! independently of the deframer.

mod common;
use common::{fixture, hex_fixture, summary, wait_for, Task, FAST_RETRY};
use dsmr_engine::smarty::SmartyKeys;
use dsmr_engine::Zone;
use dsmr_exporter::source::{tcp, Replay, ReplayConfig, SourceError, TcpConfig};
use dsmr_exporter::state::Meter;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The key of the published vectors (athombv/node-dsmr-parser).
const KEY: &str = "0123456789abcdef0123456789abcdef";
/// The auth key the published vectors were sealed with (not Smarty's).
const VECTOR_AUTH: &str = "ffeeddccbbaa99887766554433221100";

/// The Luxembourg spec example with its blank line and a valid CRC, as the
/// meter would encrypt it: without the CRLF after the CRC.
fn plaintext() -> Vec<u8> {
    let mut t = fixture("lu_smarty_spec_example_4mbus.txt");
    assert!(t.ends_with(b"!8B52\r\n"));
    t.truncate(t.len() - 2);
    t
}

/// Smarty's default keys with our encryption key.
fn smarty_keys() -> SmartyKeys {
    SmartyKeys::from_hex(KEY, Some("00112233445566778899AABBCCDDEEFF")).expect("keys")
}

/// Seals `plaintext` under `keys` with a fixed system title.
fn encrypt(keys: &SmartyKeys, counter: u32, plaintext: &[u8]) -> Vec<u8> {
    common::smarty::encrypt(
        keys.encryption_key,
        keys.auth_key,
        *b"SAGtest1",
        counter,
        plaintext,
    )
}

/// A TCP source with `keys` connected to a listener of ours.
async fn tcp_meter(keys: SmartyKeys) -> (Task, TcpStream, std::sync::Arc<Meter>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let meter = Meter::new("lu", Zone::CET);
    let cfg = TcpConfig {
        retry: FAST_RETRY,
        smarty: Some(keys),
        ..TcpConfig::new(addr.to_string(), Duration::from_secs(30))
    };
    let task = Task(tokio::spawn(tcp::run(cfg, meter.clone())));
    let (conn, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("the source connects")
        .expect("accept");
    (task, conn, meter)
}

fn total_import(meter: &Meter) -> Option<String> {
    let st = meter.lock();
    st.telegram
        .as_ref()
        .and_then(|t| t.imported[0])
        .map(|q| q.to_string())
}

#[tokio::test]
async fn encrypted_frames_over_tcp_land_in_the_meter_state() {
    let keys = smarty_keys();
    let (_task, mut conn, meter) = tcp_meter(keys.clone()).await;
    let one = encrypt(&keys, 1, &plaintext());
    let two = encrypt(&keys, 2, &plaintext());
    // Split mid-frame, with line noise between frames.
    conn.write_all(&one[..700]).await.expect("write");
    conn.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(20)).await;
    conn.write_all(&one[700..]).await.expect("write");
    conn.write_all(b"\x00\xff noise").await.expect("write");
    conn.write_all(&two).await.expect("write");
    wait_for(&meter, "two decrypted telegrams", |st| st.ok == 2).await;
    {
        let st = meter.lock();
        assert_eq!((st.crc_mismatch, st.malformed), (0, 0), "{}", summary(&st));
        let t = st.telegram.as_ref().expect("telegram");
        assert_eq!(t.header(), "Lux5\\253694471_M");
    }
    assert_eq!(total_import(&meter).as_deref(), Some("25.653 kWh"));
}

#[tokio::test]
async fn wrong_key_tampered_and_replayed_frames_are_malformed_never_decoded() {
    let keys = smarty_keys();
    let (_task, mut conn, meter) = tcp_meter(keys.clone()).await;
    let other = SmartyKeys::from_hex("ffffffffffffffffffffffffffffffff", keys_auth()).expect("k");
    conn.write_all(&encrypt(&other, 1, &plaintext()))
        .await
        .expect("write");
    wait_for(&meter, "wrong key counted", |st| st.malformed >= 1).await;

    let mut tampered = encrypt(&keys, 2, &plaintext());
    tampered[300] ^= 0x01;
    conn.write_all(&tampered).await.expect("write");
    wait_for(&meter, "tampered frame counted", |st| st.malformed >= 2).await;
    {
        let st = meter.lock();
        assert_eq!(st.ok, 0, "{}", summary(&st));
        assert!(st.telegram.is_none(), "nothing was decoded");
    }

    // A good frame still gets through; the same frame again is a replay.
    let good = encrypt(&keys, 3, &plaintext());
    conn.write_all(&good).await.expect("write");
    wait_for(&meter, "good frame", |st| st.ok == 1).await;
    conn.write_all(&good).await.expect("write");
    wait_for(&meter, "replay counted", |st| st.malformed >= 3).await;
    assert_eq!(meter.lock().ok, 1);
}

/// The engine does not need the blank line after the header nor the CRLF
/// after the CRC: a telegram without both, its CRC computed over what was
/// sent, decrypts and decodes as ok.
#[tokio::test]
async fn telegram_without_blank_line_and_final_crlf_is_ok() {
    let mut t = plaintext();
    let header_end = t.windows(2).position(|w| w == b"\r\n").expect("header") + 2;
    assert_eq!(&t[header_end..header_end + 2], b"\r\n");
    t.drain(header_end..header_end + 2);
    // Replace the CRC with the one of the shortened text.
    let bang = t.iter().rposition(|&b| b == b'!').expect("!");
    t.truncate(bang + 1);
    let crc = dsmr_engine::crc::crc16_arc(&t);
    t.extend_from_slice(format!("{crc:04X}").as_bytes());

    let keys = smarty_keys();
    let (_task, mut conn, meter) = tcp_meter(keys.clone()).await;
    conn.write_all(&encrypt(&keys, 1, &t)).await.expect("write");
    wait_for(&meter, "decoded", |st| st.ok == 1).await;
    assert_eq!(total_import(&meter).as_deref(), Some("25.653 kWh"));
}

fn keys_auth() -> Option<&'static str> {
    Some("00112233445566778899AABBCCDDEEFF")
}

/// The published vector's plaintext lacks the blank line its CRC was
/// computed with: it decrypts (no malformed) and the engine reports a CRC
/// mismatch, a fixture artefact rather than a decryption failure.
#[tokio::test]
async fn published_vector_decrypts_and_is_a_crc_mismatch() {
    let keys = SmartyKeys::from_hex(KEY, Some(VECTOR_AUTH)).expect("keys");
    let (_task, mut conn, meter) = tcp_meter(keys).await;
    conn.write_all(&hex_fixture("lu_smarty_encrypted_with_aad.hex"))
        .await
        .expect("write");
    wait_for(&meter, "vector through the engine", |st| {
        st.crc_mismatch + st.malformed + st.ok >= 1
    })
    .await;
    {
        let st = meter.lock();
        assert_eq!(
            (st.ok, st.crc_mismatch, st.malformed),
            (0, 1, 0),
            "{}",
            summary(&st)
        );
    }

    // Without an auth key the with-AAD vector does not authenticate.
    let keys = SmartyKeys::from_hex(KEY, None).expect("keys");
    let (_task, mut conn, meter) = tcp_meter(keys).await;
    conn.write_all(&hex_fixture("lu_smarty_encrypted_with_aad.hex"))
        .await
        .expect("write");
    wait_for(&meter, "auth failure", |st| st.malformed == 1).await;
    assert_eq!(meter.lock().crc_mismatch, 0);
}

#[tokio::test]
async fn encrypted_replay_file_is_decrypted_and_bad_frames_counted() {
    let keys = smarty_keys();
    let mut capture = encrypt(&keys, 10, &plaintext());
    let mut bad = encrypt(&keys, 11, &plaintext());
    bad[100] ^= 0x80;
    capture.extend_from_slice(&bad);
    capture.extend_from_slice(&encrypt(&keys, 12, &plaintext()));
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &capture).expect("write temp file");

    let replay = Replay::load_with(file.path(), Some(&keys))
        .await
        .expect("load");
    assert_eq!(replay.len(), 2);
    let meter = Meter::new("lu", Zone::CET);
    let cfg = ReplayConfig {
        path: file.path().to_owned(),
        interval: Duration::ZERO,
        looped: false,
        smarty: Some(keys),
    };
    tokio::time::timeout(Duration::from_secs(5), replay.run(&cfg, meter.clone()))
        .await
        .expect("a single replay ends");
    {
        let st = meter.lock();
        assert_eq!(
            (st.ok, st.crc_mismatch, st.malformed),
            (2, 0, 1),
            "{}",
            summary(&st)
        );
    }

    // With the wrong key nothing decrypts: the source refuses to start.
    let wrong = SmartyKeys::from_hex("ffffffffffffffffffffffffffffffff", keys_auth()).expect("k");
    let err = Replay::load_with(file.path(), Some(&wrong))
        .await
        .expect_err("undecryptable");
    assert!(
        matches!(err, SourceError::ReplayUndecryptable { failed: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("authentication failed"), "{err}");
}
