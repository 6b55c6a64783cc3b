//! The file path: TOML text to [`FileConfig`], and where errors point.

use super::*;
use crate::source::{DemoCountry, SourceConfig};
use std::time::Duration;

fn err(text: &str) -> String {
    parse(text, Path::new("m.toml")).unwrap_err().to_string()
}

#[test]
fn meters_of_every_kind() {
    let c = parse(
        r#"
[web]
listen_address = ":9100"
telemetry_path = "/p1"

[metrics]
expose_equipment_ids = true

[[meter]]
name = "house"
stale_after = "2m"
timezone = "UTC"
serial = { path = "/dev/ttyUSB0", baud = 9600, data_bits = 7, parity = "even", stop_bits = 1 }

[[meter]]
name = "dongle"
[meter.tcp]
address = "p1.local:2001"

[[meter]]
name = "file"
replay = { file = "t.txt", interval = "0s", loop = true }

[[meter]]
name = "hw"
homewizard = { host = "192.168.1.60" }

[[meter]]
name = "sim"
demo = true
"#,
        Path::new("/etc/dsmr/m.toml"),
    )
    .unwrap();
    assert_eq!(c.listen_addresses, Some(vec!["0.0.0.0:9100".to_owned()]));
    assert_eq!(c.telemetry_path.as_deref(), Some("/p1"));
    assert_eq!(c.expose_equipment_ids, Some(true));
    let names: Vec<&str> = c.meters.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["house", "dongle", "file", "hw", "sim"]);
    let src: Vec<String> = c.meters.iter().map(|m| m.source.to_string()).collect();
    assert_eq!(src[0], "serial /dev/ttyUSB0 9600 7E1");
    assert_eq!(src[1], "tcp p1.local:2001");
    assert_eq!(src[2], "replay /etc/dsmr/t.txt every 0, looped");
    assert_eq!(
        src[3],
        "homewizard http://192.168.1.60:80/api/v1/telegram every 1s (API v1), or \
         https://192.168.1.60:443/api/telegram (API v2, token file /etc/dsmr/homewizard.token, \
         certificate appliance/p1dongle/*) if the device answers 401 on GET /api over HTTPS"
    );
    assert_eq!(c.meters[4].source, SourceConfig::Demo(DemoCountry::Nl));
    assert_eq!(c.meters[0].stale_after, Duration::from_secs(120));
    assert_eq!(c.meters[1].stale_after, Duration::from_secs(60));
}

#[test]
fn errors_name_line_column_and_key() {
    let e = err("[[meter]]\nname = \"a\"\ndemo = true\nbaudrate = 9600\n");
    assert!(e.starts_with("m.toml:4:1: "), "{e}");
    assert!(e.contains("baudrate"), "{e}");
    let e = err("[[meter]]\nname = \"a\"\nserial = { path = \"/dev/x\", bauds = 1 }\n");
    assert!(e.starts_with("m.toml:3:"), "{e}");
    assert!(e.contains("bauds"), "{e}");
    let e = err("[web]\nlisten_address = []\n");
    assert!(
        e.starts_with("m.toml:2:18: ") && e.contains("empty list"),
        "{e}"
    );
    let e = err("[web]\nlisten_address = [\":1\", \"nope\"]\n");
    assert!(e.starts_with("m.toml:2:") && e.contains("\"nope\""), "{e}");
    let e = err("[web]\nlisten = \":1\"\n");
    assert!(e.starts_with("m.toml:2:1: ") && e.contains("listen"), "{e}");
    let e = err("[[meter]]\nname = \"a\"\ndemo = true\nstale_after = \"5x\"\n");
    assert!(
        e.starts_with("m.toml:4:15: meter \"a\": stale_after"),
        "{e}"
    );
    let e = err("[[meter]]\nname = \"a\"\ntcp = { address = \"dongle\" }\n");
    assert!(
        e.starts_with("m.toml:3:19: ") && e.contains("tcp.address"),
        "{e}"
    );
    let e = err("[[meter]]\nname = \"a\"\nserial = { path = \"/dev/x\", parity = \"mark\" }\n");
    assert!(e.starts_with("m.toml:3:") && e.contains("mark"), "{e}");
    let e = err("[[meter]]\nname = \"a\"\n");
    assert!(e.contains("no source"), "{e}");
    let e = err("[[meter]]\nname = \"a\"\ndemo = true\ntcp = { address = \"h:1\" }\n");
    assert!(
        e.starts_with("m.toml:4:") && e.contains("demo and tcp"),
        "{e}"
    );
    let e = err("");
    assert!(e.contains("no meter"), "{e}");
    let e = err("[[meter]]\nname = \"a b\"\ndemo = true\n");
    assert!(e.starts_with("m.toml:2:8: meter name"), "{e}");
    let e = err("[[meter]\n");
    assert!(e.starts_with("m.toml:1:"), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn duplicate_names_are_refused() {
    let e = err("[[meter]]\nname = \"a\"\ndemo = true\n\n[[meter]]\nname = \"a\"\ndemo = true\n");
    assert!(
        e.starts_with("m.toml:6:8: duplicate meter name \"a\" (first used on line 2)"),
        "{e}"
    );
}

#[test]
fn smarty_key_files_are_read_relative_to_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("k"), "0123456789abcdef0123456789abcdef\n").unwrap();
    std::fs::write(dir.join("bad"), "0123").unwrap();
    let cfg = dir.join("m.toml");
    let text = "[[meter]]\nname = \"lu\"\ntcp = { address = \"h:1\" }\nsmarty = { key_file = \"k\" }\n\
                [[meter]]\nname = \"lu2\"\ntcp = { address = \"h:2\" }\nsmarty = { key_file = \"k\", auth_key_file = \"none\" }\n";
    let c = parse(text, &cfg).unwrap();
    let SourceConfig::Tcp(t) = &c.meters[0].source else {
        panic!("tcp")
    };
    let keys = t.smarty.as_ref().unwrap();
    assert_eq!(
        keys.auth_key,
        Some(dsmr_engine::smarty::SmartyKeys::SMARTY_AUTH_KEY)
    );
    assert_eq!(
        c.meters[0].source.to_string(),
        "tcp h:1, smarty-encrypted (default auth key)"
    );
    assert_eq!(
        c.meters[1].source.to_string(),
        "tcp h:2, smarty-encrypted (no auth key)"
    );
    let e = parse(
        "[[meter]]\nname = \"lu\"\ntcp = { address = \"h:1\" }\nsmarty = { key_file = \"bad\" }\n",
        &cfg,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(":4:10: meter \"lu\": smarty key file") && e.contains("32 hex digits"),
        "{e}"
    );
    assert!(
        !e.contains("0123"),
        "the key's digits stay out of errors: {e}"
    );
    let e = parse(
        "[[meter]]\nname = \"lu\"\ntcp = { address = \"h:1\" }\nsmarty = { key_file = \"missing\" }\n",
        &cfg,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("missing") && e.contains("cannot read"), "{e}");
}

#[test]
fn listen_address_may_be_a_list() {
    let c = parse(
        "[web]\nlisten_address = [\"127.0.0.1:9100\", \"[::1]:9100\"]\n\n[[meter]]\nname = \"a\"\ndemo = true\n",
        Path::new("m.toml"),
    )
    .unwrap();
    assert_eq!(
        c.listen_addresses,
        Some(vec!["127.0.0.1:9100".to_owned(), "[::1]:9100".to_owned()])
    );
}

#[test]
fn homewizard_api_v2_settings() {
    use crate::source::homewizard::{Api, TokenSource};
    let c = parse(
        "[[meter]]\nname = \"hw\"\nhomewizard = { host = \"p1.local\", api = \"v2\", \
         token_file = \"hw.token\", serial = \"5C2FAFAABBCC\" }\n",
        Path::new("/etc/dsmr/m.toml"),
    )
    .unwrap();
    let SourceConfig::Homewizard(h) = &c.meters[0].source else {
        panic!("not homewizard")
    };
    assert_eq!((h.api, h.port), (Api::V2, None));
    assert_eq!(h.token, TokenSource::File("/etc/dsmr/hw.token".into()));
    assert_eq!(h.trust.serial.as_deref(), Some("5c2fafaabbcc"));
    let e = err("[[meter]]\nname = \"a\"\nhomewizard = { host = \"h\", serial = \"5c2f\" }\n");
    assert!(
        e.starts_with("m.toml:3:") && e.contains("homewizard.serial \"5c2f\": expected"),
        "{e}"
    );
    let e = err("[[meter]]\nname = \"a\"\nhomewizard = { host = \"h\", api = \"v3\" }\n");
    assert!(e.contains("v3"), "{e}");
}

#[test]
fn a_demo_country_and_the_capacity_table() {
    let c = parse(
        r#"
[[meter]]
name = "be"
demo = "be"

[[meter]]
name = "fluvius"
replay = { file = "t.txt" }
[meter.capacity]
price_per_kw_year = "53.2645"
state_file = "peaks/fluvius.state"

[[meter]]
name = "off"
demo = false
replay = { file = "t.txt" }
capacity = { price_per_kw_year = 40 }
"#,
        Path::new("/etc/dsmr/m.toml"),
    )
    .unwrap();
    let be = &c.meters[0];
    assert_eq!(be.source, SourceConfig::Demo(DemoCountry::Be));
    // The Belgian demo tracks the tariff and shows a cost.
    assert!(be.capacity.enabled && be.capacity.price.is_some());
    let f = &c.meters[1].capacity;
    assert!(f.enabled);
    assert_eq!(f.price.unwrap().to_string(), "53.2645");
    assert_eq!(
        f.state_file.as_deref(),
        Some(Path::new("/etc/dsmr/peaks/fluvius.state"))
    );
    assert_eq!(c.meters[2].capacity.price.unwrap().to_string(), "40");
    let e = err("[[meter]]\nname = \"a\"\ndemo = \"fr\"\n");
    assert!(
        e.starts_with("m.toml:3:") && e.contains("demo \"fr\""),
        "{e}"
    );
    let e = err("[[meter]]\nname = \"a\"\ndemo = true\ncapacity = { price_per_kw_year = 53.26 }\n");
    assert!(e.starts_with("m.toml:4:") && e.contains("in quotes"), "{e}");
    let e =
        err("[[meter]]\nname = \"a\"\ndemo = true\ncapacity = { price_per_kw_year = \"-1\" }\n");
    assert!(e.contains("capacity.price_per_kw_year \"-1\""), "{e}");
    let e = err("[[meter]]\nname = \"a\"\ndemo = true\ncapacity = { price = \"1\" }\n");
    assert!(e.contains("price"), "{e}");
    // The capacity price is in euros: another currency is refused.
    let e = err(
        "[[meter]]\nname = \"a\"\ndemo = true\ncapacity = { price_per_kw_year = \"53\" }\n\
         [meter.prices]\ncurrency = \"CHF\"\nfixed_per_day = \"1\"\n",
    );
    assert!(
        e.starts_with("m.toml:4:") && e.contains("is in euros") && e.contains("CHF"),
        "{e}"
    );
}

const PRICED: &str = "[[meter]]\nname = \"h\"\ndemo = true\n";

#[test]
fn prices_fixed_and_dynamic_with_their_formula() {
    use crate::cost::{FeedSource, Formula, Nanos, RowFormat, Spec};
    let text = format!(
        "{PRICED}[meter.prices]\nfixed_per_day = 0.95\n\
         [meter.prices.electricity.import]\ntariff1 = \"0.25\"\nprice = 0.3\n\
         [meter.prices.electricity.export]\nentsoe = \"10YBE----------2\"\nmarkup = \"-0.01\"\nvat = \"6\"\n\
         [meter.prices.gas]\nfile = \"gas.json\"\ntax = 0.7\n\n\
         [prices]\nstate_dir = \"state\"\nentsoe_url = \"http://127.0.0.1:1/api/\"\n"
    );
    let c = parse(&text, Path::new("/etc/dsmr/m.toml")).unwrap();
    let p = c.meters[0].prices.as_ref().expect("prices");
    assert_eq!(p.currency, "EUR");
    assert_eq!(p.fixed_per_day, Some(Nanos(950_000_000)));
    assert!(p.ahead, "the curve ahead is on unless turned off");
    let off = text.replace(
        "fixed_per_day = 0.95\n",
        "fixed_per_day = 0.95\nahead = false\n",
    );
    let c_off = parse(&off, Path::new("/etc/dsmr/m.toml")).unwrap();
    assert!(!c_off.meters[0].prices.as_ref().expect("prices").ahead);
    let mut fixed = [None; 5];
    fixed[0] = Some(Nanos(300_000_000));
    fixed[1] = Some(Nanos(250_000_000));
    assert_eq!(p.import, Some(Spec::Fixed(fixed)));
    let export = Spec::Dynamic {
        feed: FeedSource::Entsoe {
            zone: "10YBE----------2".into(),
        },
        formula: Formula {
            markup: Nanos(-10_000_000),
            tax: Nanos(0),
            vat_ppm: 60_000,
        },
    };
    assert_eq!(p.export, Some(export));
    let Some(Spec::Dynamic { feed, .. }) = &p.gas else {
        panic!("gas: {:?}", p.gas)
    };
    let want = FeedSource::File {
        path: "/etc/dsmr/gas.json".into(),
        format: RowFormat::Json,
    };
    assert_eq!(feed, &want);
    assert_eq!(
        c.fetch.state_dir.as_deref(),
        Some(Path::new("/etc/dsmr/state"))
    );
    assert_eq!(c.fetch.entsoe_url, "http://127.0.0.1:1/api");
    assert_eq!(c.fetch.entsoe_token, None);
}

#[test]
fn price_errors_point_at_the_value() {
    let cases = [
        (
            "[meter.prices.gas]\nprice = \"1,38\"\n",
            "m.toml:5:9: meter \"h\": prices.gas.price \"1,38\": not a decimal number",
        ),
        (
            "[meter.prices.gas]\nprice = 1\nentsoe = \"10YNL----------L\"\n",
            "m.toml:4:1: meter \"h\": prices.gas: give exactly one of",
        ),
        (
            "[meter.prices.gas]\ntariff2 = 1\n",
            "m.toml:5:11: meter \"h\": prices.gas: tariff2: only electricity has tariffs",
        ),
        (
            "[meter.prices.electricity.import]\nprice = 1\nvat = 21\n",
            "m.toml:6:7: meter \"h\": prices.electricity.import: markup, tax, vat and format go with",
        ),
        (
            "[meter.prices]\ncurrency = \"USD\"\n[meter.prices.electricity.import]\nentsoe = \"10YNL----------L\"\n",
            "m.toml:7:10: meter \"h\": prices.electricity.import.entsoe: ENTSO-E prices are in EUR",
        ),
        (
            "[meter.prices.electricity.import]\nentsoe = \"NL\"\n",
            "m.toml:5:10: meter \"h\": prices.electricity.import.entsoe \"NL\": an EIC",
        ),
        (
            "[meter.prices.electricity.import]\nprice = \"0.0000000001\"\n",
            "more than 9 digits after the decimal point",
        ),
        (
            "[meter.prices.water]\nurl = \"ftp://x\"\n",
            "prices.water.url \"ftp://x\": an http:// or https:// URL",
        ),
    ];
    for (tail, want) in cases {
        let e = err(&format!("{PRICED}{tail}"));
        assert!(e.contains(want), "{tail:?}:\n{e}\nwanted {want}");
    }
    let e = err(&format!(
        "{PRICED}[prices]\nentsoe_token_file = \"missing.token\"\n"
    ));
    assert!(
        e.starts_with("m.toml:5:21: prices.entsoe_token_file missing.token:"),
        "{e}"
    );
}
