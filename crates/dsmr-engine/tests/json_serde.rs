//! The serde view of a telegram (feature `serde`) against the exporter's
//! golden files (the `parse` command's output): the same bytes for every
//! fixture.
#![cfg(feature = "serde")]

use dsmr_engine::{FrameEvent, Framer, Telegram, Zone};

mod common;

/// The `.txt` fixtures (the `.hex` ones are Smarty frames), sorted.
fn fixtures() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(common::fixtures_dir())
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v
}

/// What the `parse` command prints for a capture, one JSON object a line,
/// with each telegram written by `write`.
fn parse_output(input: &[u8], write: &mut dyn FnMut(&Telegram) -> String) -> String {
    let mut framer = Framer::new();
    let mut telegram = Telegram::new();
    let mut out = String::new();
    let mut on = |ev: FrameEvent<'_>| {
        let line = match ev {
            FrameEvent::Telegram(frame) => match telegram.decode_into(frame) {
                Ok(()) => write(&telegram),
                Err(e) => discarded(&e.to_string()),
            },
            FrameEvent::Discarded(e) => discarded(&e.to_string()),
        };
        out.push_str(&line);
        out.push('\n');
    };
    framer.feed(input, &mut on);
    framer.finish(&mut on);
    out
}

fn discarded(msg: &str) -> String {
    serde_json::to_string(&serde_json::json!({ "discarded": msg })).expect("JSON")
}

#[test]
fn serde_json_equals_the_golden_files() {
    let files = fixtures();
    assert!(files.len() >= 34, "the corpus is in fixtures/");
    let golden_dir = common::fixtures_dir().join("../tests/golden");
    for path in files {
        let input = std::fs::read(&path).expect("read fixture");
        let name = path.file_stem().and_then(|s| s.to_str()).expect("name");
        let by_serde = parse_output(&input, &mut |t| {
            serde_json::to_string(&t.json_view(Zone::CET)).expect("serializes")
        });
        let golden =
            std::fs::read_to_string(golden_dir.join(format!("{name}.jsonl"))).expect("golden file");
        assert_eq!(by_serde, golden, "{name}: serde and the golden file");
    }
}

#[test]
fn decimals_keep_their_digits() {
    let frame = b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000000.000*kWh)\r\n1-0:1.8.2(009418.807*kWh)\r\n1-0:32.7.0(230.10*V)\r\n!";
    let t = Telegram::decode(frame).expect("decodes");
    let json = serde_json::to_string(&t.json_view(Zone::UTC)).expect("serializes");
    assert!(
        json.contains(
            r#""imported_tariff_1":{"value":0.000,"unit":"kWh","base_value":0,"base_unit":"J"}"#
        ),
        "{json}"
    );
    assert!(json.contains(r#""value":9418.807,"#), "{json}");
    assert!(
        json.contains(r#""voltage":{"value":230.10,"unit":"V","base_value":230.1,"#),
        "{json}"
    );
    assert!(
        json.contains(r#""value":9418.807,"unit":"kWh","base_value":33907705200,"#),
        "{json}"
    );
}

#[test]
fn control_characters_escape_as_json_requires() {
    let mut frame = b"/ISk5\\2MT382-1000\r\n\r\n0-0:96.13.0(".to_vec();
    frame.extend((0u8..0x20).filter(|b| *b != b'\n' && *b != b'\r'));
    frame.extend(b"\"\\)\r\n!");
    let t = Telegram::decode(&frame).expect("decodes");
    let json = serde_json::to_string(&t.json_view(Zone::CET)).expect("serializes");
    let mut want = String::from(r#""text_message":""#);
    for b in (0u8..0x20).filter(|b| *b != b'\n' && *b != b'\r') {
        match b {
            8 => want.push_str("\\b"),
            9 => want.push_str("\\t"),
            0xc => want.push_str("\\f"),
            b => want.push_str(&format!("\\u{b:04x}")),
        }
    }
    want.push_str(r#"\"\\""#);
    assert!(json.contains(&want), "{json}\n{want}");
}
