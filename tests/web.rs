//! The JSON API and the event stream over real sockets: `/api/v1/meters`
//! parsed as JSON (its shape is documented in docs/api.md), and
//! `/events` sending the current state at once and a new event per telegram.

mod common;
use common::http::{get, Server};
use common::{feed, fixture};
use dsmr_engine::Zone;
use dsmr_exporter::http::ServerConfig;
use dsmr_exporter::source::Pipeline;
use dsmr_exporter::state::Meter;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The server with the default config: metrics at `/metrics`, the page at `/`.
async fn start(meters: Vec<Arc<Meter>>) -> Server {
    Server::start(meters, ServerConfig::default(), None).await
}

fn q(v: &Value) -> (f64, &str) {
    (
        v["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("a value in {v}")),
        v["unit"]
            .as_str()
            .unwrap_or_else(|| panic!("a unit in {v}")),
    )
}

#[tokio::test]
async fn the_api_gives_every_value_with_its_unit_and_today() {
    let main = Meter::new("main", Zone::CET);
    main.set_source_up(true);
    feed(&main, "nl_dsmr50_iskra_am550t_3phase_issue91.txt");
    let silent = Meter::new("garage", Zone::CET);
    let server = start(vec![main.clone(), silent]).await;

    let r = get(server.addr, "/api/v1/meters").await;
    assert!(r.head.starts_with("HTTP/1.1 200"), "{}", r.head);
    assert!(
        r.head.contains("content-type: application/json"),
        "{}",
        r.head
    );
    let doc: Value = serde_json::from_str(&r.body).expect("valid JSON");
    assert!(doc["now"].as_f64().is_some());
    let meters = doc["meters"].as_array().expect("meters");
    assert_eq!(meters.len(), 2);

    let m = &meters[0];
    assert_eq!(m["name"], "main");
    assert_eq!(m["source_up"], true);
    assert_eq!(m["fresh"], true);
    assert_eq!(m["seq"], 1);
    assert!(m["received_at"].as_f64().is_some());
    assert!(m["age_seconds"].as_f64().is_some_and(|a| a < 5.0));
    assert_eq!(m["telegrams"]["ok"], 1);
    let t = &m["telegram"];
    assert_eq!(t["header"], "ISK5\\2M550T-1013");
    assert_eq!(t["version"], "50");
    assert_eq!(t["time"]["local"], "2022-01-27T11:04:31");
    assert_eq!(t["time"]["dst"], "W");
    assert_eq!(t["time"]["unix"], 1_643_277_871);
    assert_eq!(t["tariff"], 2);
    assert_eq!(q(&t["power_import"]), (0.196, "kW"));
    assert_eq!(q(&t["power_export"]), (0.0, "kW"));
    assert_eq!(q(&t["phases"]["l1"]["voltage"]), (236.9, "V"));
    assert_eq!(q(&t["phases"]["l2"]["current"]), (1.0, "A"));
    assert_eq!(q(&t["phases"]["l3"]["power_export"]), (0.177, "kW"));
    assert_eq!(q(&t["imported"]["tariff_1"]), (9418.807, "kWh"));
    assert_eq!(q(&t["exported"]["tariff_2"]), (1332.223, "kWh"));
    assert!(t["imported"].get("total").is_none(), "absent, not 0");
    let gas = &t["mbus"][0];
    assert_eq!(
        (gas["channel"].as_u64(), gas["kind"].as_str()),
        (Some(1), Some("gas"))
    );
    assert_eq!(q(&gas["value"]), (9916.665, "m3"));
    assert_eq!(gas["time"]["local"], "2022-01-27T11:00:04");

    // Today starts at this first telegram: zero so far, and "since" it.
    let d = &m["today"];
    assert_eq!(d["since_midnight"], false);
    assert_eq!(d["since_local"].as_str().map(str::len), Some(5));
    assert_eq!(q(&d["imported"]["tariff_1"]), (0.0, "kWh"));
    assert_eq!(q(&d["gas"]), (0.0, "m3"));
    assert!(d.get("water").is_none());

    let g = &meters[1];
    assert_eq!(g["name"], "garage");
    assert_eq!(g["fresh"], false);
    assert!(g["telegram"].is_null() && g["today"].is_null() && g["received_at"].is_null());
}

#[tokio::test]
async fn today_counts_from_the_first_telegram_of_the_day() {
    // Two telegrams of the same meter a day apart in meter time but both
    // arriving today: the difference is "today".
    let m = Meter::new("main", Zone::CET);
    feed(&m, "be_fluvius_v171_water_24.2.1.txt");
    let later = String::from_utf8(fixture("be_fluvius_v171_water_24.2.1.txt"))
        .expect("utf-8")
        .replace("0-0:1.0.0(200512135409S)", "0-0:1.0.0(200513135409S)")
        .replace("1-0:1.8.2(000015.758*kWh)", "1-0:1.8.2(000017.000*kWh)")
        .replace(
            "0-2:24.2.1(200512134558S)(00872.234*m3)",
            "0-2:24.2.1(200513134558S)(00872.334*m3)",
        );
    // Edited, so it goes without its CRC, which this pipeline accepts.
    let body = &later[..later.rfind('!').expect("!") + 1];
    let mut p = Pipeline::new(m.clone()).allow_missing_crc(true);
    p.feed(format!("{body}\r\n").as_bytes());
    p.finish();
    let server = start(vec![m]).await;
    let doc: Value =
        serde_json::from_str(&get(server.addr, "/api/v1/meters").await.body).expect("JSON");
    let d = &doc["meters"][0]["today"];
    assert_eq!(q(&d["imported"]["tariff_2"]), (1.242, "kWh"));
    assert_eq!(q(&d["exported"]["tariff_2"]), (0.0, "kWh"));
    assert_eq!(q(&d["water"]), (0.1, "m3"));
    assert_eq!(q(&d["gas"]), (0.0, "m3"));
}

/// Reads from `s` until `needle` has appeared `n` times in all that was read.
async fn read_until(s: &mut TcpStream, seen: &mut String, needle: &str, n: usize) {
    let mut buf = [0u8; 8192];
    while seen.matches(needle).count() < n {
        let k = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{needle:?} x{n} within 5 s; got {seen}"))
            .expect("read");
        assert!(k > 0, "stream ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..k]));
    }
}

#[tokio::test]
async fn events_send_the_state_at_once_then_one_event_per_telegram() {
    let m = Meter::new("main", Zone::CET);
    feed(&m, "nl_dsmr50_iskra_am550t_3phase_issue91.txt");
    let server = start(vec![m.clone()]).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("send");
    let mut seen = String::new();
    read_until(&mut s, &mut seen, "event: meter\ndata: ", 1).await;
    read_until(&mut s, &mut seen, "\n\n", 2).await;
    assert!(seen.contains("content-type: text/event-stream"), "{seen}");
    assert!(seen.contains("retry: 1000\n\n"));
    assert!(seen.contains("\"seq\":1,"), "{seen}");

    feed(&m, "nl_dsmr50_iskra_am550t_two_mbus.txt");
    read_until(&mut s, &mut seen, "event: meter\ndata: ", 2).await;
    read_until(&mut s, &mut seen, "\"seq\":2,", 1).await;
    let last = seen.rsplit("data: ").next().expect("an event");
    let json = last.split("\n\n").next().expect("the data line");
    let doc: Value = serde_json::from_str(json).expect("event data is the API's meter document");
    assert_eq!(q(&doc["telegram"]["power_import"]), (0.111, "kW"));
}

#[tokio::test]
async fn an_open_event_stream_ends_at_shutdown_without_waiting_for_the_grace_period() {
    let m = Meter::new("main", Zone::CET);
    feed(&m, "nl_dsmr50_iskra_am550t_3phase_issue91.txt");
    let server = start(vec![m]).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("send");
    let mut seen = String::new();
    read_until(&mut s, &mut seen, "event: meter", 1).await;
    // `shutdown` checks that serve returned within 10 s, without error.
    let took = server.shutdown().await;
    // The default grace period is 5 s; the stream ends at once instead.
    assert!(took < Duration::from_secs(2), "{took:?}");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut rest)).await;
    assert!(
        String::from_utf8_lossy(&rest).ends_with("0\r\n\r\n"),
        "a clean end of the chunked body"
    );
}

#[tokio::test]
async fn the_page_inlines_the_state_safely() {
    let m = Meter::new("</script><!--", Zone::CET);
    feed(&m, "nl_dsmr50_iskra_am550t_3phase_issue91.txt");
    let server = start(vec![m]).await;
    let r = get(server.addr, "/").await;
    assert!(r.head.starts_with("HTTP/1.1 200"), "{}", r.head);
    let body = r.body;
    let tag = "type=\"application/json\">";
    let start = body.find(tag).expect("the state") + tag.len();
    let json = &body[start..start + body[start..].find("</script>").expect("its end")];
    let doc: Value = serde_json::from_str(json).expect("valid JSON");
    assert_eq!(doc["meters"][0]["name"], "</script><!--");
    assert_eq!(
        q(&doc["meters"][0]["telegram"]["power_import"]),
        (0.196, "kW")
    );
}
