//! The flag path end to end: argv and environment to [`Config`].

use super::*;
use crate::source::{DemoCountry, ReplayConfig, SourceConfig, TcpConfig};
use dsmr_engine::smarty::SmartyKeys;
use std::time::Duration;

fn parse(args: &[&str]) -> Result<Config, CliError> {
    let mut v = vec!["dsmr-exporter"];
    v.extend_from_slice(args);
    parse_from(v, None)
}

fn serve(args: &[&str]) -> ServeConfig {
    match parse(args).unwrap().mode {
        Mode::Serve(s) => s,
        other => panic!("not serve: {other:?}"),
    }
}

fn meter(args: &[&str]) -> MeterConfig {
    let mut s = serve(args);
    assert_eq!(s.meters.len(), 1);
    s.meters.remove(0)
}

#[test]
fn defaults() {
    let s = serve(&["--demo"]);
    assert_eq!(s.meters[0].name, "main");
    assert_eq!(s.meters[0].source, SourceConfig::Demo(DemoCountry::Nl));
    assert_eq!(s.meters[0].stale_after, Duration::from_secs(60));
    assert_eq!(s.listen_addresses, ["0.0.0.0:9947"]);
    assert_eq!(s.telemetry_path, "/metrics");
    assert!(!s.expose_equipment_ids);
    let c = parse(&["--demo"]).unwrap();
    assert_eq!(c.zone, Zone::CET);
    assert_eq!(c.log.filter, "info");
    assert_eq!(c.log.format, LogFormat::Text);
}

#[test]
fn serial_settings_for_old_meters() {
    let s = meter(&[
        "--serial",
        "/dev/ttyUSB0",
        "--baud",
        "9600",
        "--data-bits",
        "7",
        "--parity",
        "even",
    ]);
    let SourceConfig::Serial(c) = s.source else {
        panic!("not serial")
    };
    assert_eq!((c.baud, c.frame().as_str()), (9600, "7E1"));
    assert_eq!(c.to_string(), "serial /dev/ttyUSB0 9600 7E1");
}

#[test]
fn errors_name_the_flag() {
    let e = |args: &[&str]| parse(args).unwrap_err().to_string();
    assert!(e(&[]).contains("--demo"));
    assert!(e(&["--demo", "--tcp", "h:1"]).contains("--tcp and --demo"));
    assert!(e(&["--demo", "--stale-after", "5x"]).contains("--stale-after"));
    assert!(e(&["--demo", "--stale-after", "0"]).contains("--stale-after"));
    assert!(e(&["--serial", "/dev/x", "--data-bits", "9"]).contains("--data-bits"));
    assert!(e(&["--serial", "/dev/x", "--stop-bits", "3"]).contains("--stop-bits"));
    assert!(e(&["--serial", "/dev/x", "--baud", "fast"]).contains("--baud"));
    assert!(e(&["--tcp", "dongle"]).contains("--tcp"));
    assert!(e(&["--tcp", "::1:80"]).contains("brackets"));
    assert!(e(&["--demo", "--web.telemetry-path", "metrics"]).contains("start with '/'"));
    assert!(e(&["--demo", "--web.listen-address", "9947"]).contains("--web.listen-address"));
    assert!(e(&["--demo", "--timezone", "Mars/Base"]).contains("--timezone"));
    assert!(e(&["--demo", "--meter", "a b"]).contains("--meter"));
    assert!(e(&["--demo", "--log-level", "loud=="]).contains("--log.level"));
    assert!(e(&["--demo", "--replay", "f"]).contains("--replay and --demo"));
}

#[test]
fn addresses() {
    assert_eq!(
        serve(&["--demo", "--web.listen-address", ":9100"]).listen_addresses,
        ["0.0.0.0:9100"]
    );
    assert_eq!(
        serve(&["--demo", "--web.listen-address", "[::1]:9100"]).listen_addresses,
        ["[::1]:9100"]
    );
    // More than once, or comma-separated (as the environment variable).
    let two = ["127.0.0.1:9100", "[::1]:9100"];
    let args = [
        "--demo",
        "--web.listen-address",
        two[0],
        "--web.listen-address",
        two[1],
    ];
    assert_eq!(serve(&args).listen_addresses, two);
    assert_eq!(
        serve(&[
            "--demo",
            "--web.listen-address",
            "127.0.0.1:9100,[::1]:9100"
        ])
        .listen_addresses,
        two
    );
    let s = meter(&["--tcp", "p1.local:2001", "--stale-after", "10s"]);
    assert_eq!(
        s.source,
        SourceConfig::Tcp(TcpConfig::new("p1.local:2001", Duration::from_secs(10)))
    );
}

#[test]
fn replay_and_parse() {
    let s = meter(&[
        "--replay",
        "t.txt",
        "--replay-interval",
        "0",
        "--replay-loop",
    ]);
    assert_eq!(
        s.source,
        SourceConfig::Replay(ReplayConfig {
            path: "t.txt".into(),
            interval: Duration::ZERO,
            looped: true,
            smarty: None,
        })
    );
    let c = parse(&["parse", "--timezone", "UTC", "x.txt"]).unwrap();
    assert!(matches!(
        c.mode,
        Mode::Parse { input: Some(ref p), mask_ids: false, raw: false } if p.as_os_str() == "x.txt"
    ));
    assert_eq!(c.zone, Zone::UTC);
    assert!(matches!(
        parse(&["parse"]).unwrap().mode,
        Mode::Parse { input: None, .. }
    ));
    assert!(matches!(
        parse(&["parse", "--mask-ids", "--raw", "-"]).unwrap().mode,
        Mode::Parse {
            input: None,
            mask_ids: true,
            raw: true
        }
    ));
}

#[test]
fn rust_log_wins() {
    let c = parse_from(["x", "--demo", "--log-level", "debug"], Some("warn".into())).unwrap();
    assert_eq!(c.log.filter, "warn");
    let c = parse_from(["x", "--demo", "--log-level", "debug"], Some(String::new())).unwrap();
    assert_eq!(c.log.filter, "debug");
}

#[test]
fn check_config_mode() {
    let c = parse(&["--demo", "--check-config"]).unwrap();
    let Mode::Check(s) = c.mode else {
        panic!("not check")
    };
    assert!(s.to_string().contains("source: demo"));
}

#[test]
fn smarty_keys_from_the_environment() {
    let env = Env {
        rust_log: None,
        smarty_key: Some("0123456789abcdef0123456789abcdef".into()),
        ..Env::default()
    };
    let c = parse_with_env(["x", "--tcp", "h:1"], env.clone()).unwrap();
    let Mode::Serve(s) = c.mode else {
        panic!("not serve")
    };
    let SourceConfig::Tcp(t) = &s.meters[0].source else {
        panic!("not tcp")
    };
    let keys = t.smarty.as_ref().expect("keys");
    assert_eq!(keys.auth_key, Some(SmartyKeys::SMARTY_AUTH_KEY));
    assert_eq!(keys.encryption_key[0], 0x01);
    // An empty variable is no key.
    let empty = Env {
        rust_log: None,
        smarty_key: Some(" ".into()),
        ..Env::default()
    };
    let c = parse_with_env(["x", "--tcp", "h:1"], empty).unwrap();
    let Mode::Serve(s) = c.mode else {
        panic!("not serve")
    };
    assert!(matches!(&s.meters[0].source, SourceConfig::Tcp(t) if t.smarty.is_none()));
    let e = parse_with_env(["x", "--homewizard", "h"], env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not --homewizard"), "{e}");
}

#[test]
fn typed_flags_take_what_they_always_took() {
    let serial = meter(&[
        "--serial",
        "/dev/x",
        "--baud",
        " +9600 ",
        "--data-bits",
        " 7 ",
        "--stop-bits",
        "2",
        "--parity",
        "odd",
    ]);
    assert_eq!(serial.source.to_string(), "serial /dev/x 9600 7O2");
    let e = |args: &[&str]| parse(args).unwrap_err().to_string();
    // Only the plain digits, as before the values were typed.
    assert!(e(&["--serial", "/dev/x", "--data-bits", "07"]).contains("must be 7 or 8"));
    assert!(e(&["--serial", "/dev/x", "--stop-bits", "+1"]).contains("must be 1 or 2"));
    assert!(e(&["--serial", "/dev/x", "--baud", "fast"]).contains("such as 115200"));
    let hw = meter(&["--homewizard", "h", "--homewizard-interval", "1m"]);
    assert!(
        hw.source
            .to_string()
            .starts_with("homewizard http://h:80/api/v1/telegram every 1m (API v1), or"),
        "{}",
        hw.source
    );
    let c = parse(&["--demo", "--timezone", "Europe/Brussels"]).unwrap();
    let Mode::Serve(s) = c.mode else {
        panic!("not serve")
    };
    assert_eq!(s.meters[0].timezone, "Europe/Brussels");
}

#[test]
fn typed_flags_refuse_bad_values_in_the_old_words() {
    let e = |args: &[&str]| parse(args).unwrap_err().to_string();
    assert_eq!(
        e(&["--demo", "--stale-after", "0"]),
        "invalid value '0' for --stale-after: must be more than 0"
    );
    assert_eq!(
        e(&["--demo", "--timezone", "Mars/Base"]),
        "invalid value 'Mars/Base' for --timezone: \
         expected Europe/<city>, UTC or a fixed offset such as +01:00"
    );
    assert_eq!(
        e(&["--serial", "/dev/x", "--baud", "10"]),
        "invalid value '10' for --baud: expected a speed such as 115200 or 9600"
    );
    assert_eq!(
        e(&["--homewizard", "h", "--homewizard-interval", "61s"]),
        "invalid value '61s' for --homewizard-interval: must be from 100ms to 60s"
    );
    // What clap checked before the values were typed stays clap's.
    for args in [&["--demo", "--parity", "mark"][..], &["--demo=maybe"]] {
        let Err(CliError::Clap(c)) = parse(args) else {
            panic!("{args:?}: not clap's error")
        };
        assert_eq!(c.exit_code(), 2, "{args:?}");
    }
}

#[test]
fn systemd_sockets_need_systemd() {
    let args = ["x", "--demo", "--web.systemd-socket"];
    let env = |pid: &str, fds: &str| Env {
        listen_pid: Some(pid.to_owned()),
        listen_fds: Some(fds.to_owned()),
        ..Env::default()
    };
    let me = std::process::id().to_string();
    let c = parse_with_env(args, env(&me, "2")).unwrap();
    let Mode::Serve(s) = c.mode else {
        panic!("not serve")
    };
    assert_eq!(s.systemd_sockets, Some(2));
    let e = parse_with_env(args, env("1", "2")).unwrap_err().to_string();
    assert!(
        e.contains("--web.systemd-socket") && e.contains("LISTEN_PID"),
        "{e}"
    );
    let e = parse_with_env(args, env(&me, "0")).unwrap_err().to_string();
    assert!(e.contains("LISTEN_FDS"), "{e}");
    let e = parse_with_env(args, Env::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("LISTEN_PID"), "{e}");
    // Without the flag the variables are not looked at.
    let c = parse_with_env(["x", "--demo"], env("1", "x")).unwrap();
    let Mode::Serve(s) = c.mode else {
        panic!("not serve")
    };
    assert_eq!(s.systemd_sockets, None);
}

#[test]
fn logging_flags_take_the_prometheus_names() {
    for flags in [
        ["--log.level", "--log.format"],
        ["--log-level", "--log-format"],
    ] {
        let c = parse_from(["x", "--demo", flags[0], "debug", flags[1], "json"], None).unwrap();
        assert_eq!(c.log.filter, "debug");
        assert_eq!(c.log.format, LogFormat::Json);
    }
}

#[test]
fn homewizard_token_from_the_environment() {
    use crate::source::homewizard::TokenSource;
    let env = Env {
        homewizard_token: Some("0123456789ABCDEF0123456789ABCDEF".into()),
        ..Env::default()
    };
    let c = parse_with_env(["x", "--homewizard", "h"], env.clone()).unwrap();
    let Mode::Serve(s) = c.mode else {
        panic!("not serve")
    };
    let SourceConfig::Homewizard(h) = &s.meters[0].source else {
        panic!("not homewizard")
    };
    assert!(matches!(&h.token, TokenSource::Given { from, token }
        if from == "DSMR_EXPORTER_HOMEWIZARD_TOKEN" && token.expose().starts_with("0123")));
    assert!(!s.to_string().contains("0123"), "never shown: {s}");
    let e = parse_with_env(
        ["x", "--homewizard", "h", "--homewizard-token-file", "t"],
        env.clone(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("use one of the two"), "{e}");
    let e = parse_with_env(["x", "--config", "c.toml"], env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("DSMR_EXPORTER_HOMEWIZARD_TOKEN"), "{e}");
}

#[test]
fn demo_takes_an_optional_country() {
    let demo = |args: &[&str]| meter(args).source;
    assert_eq!(demo(&["--demo"]), SourceConfig::Demo(DemoCountry::Nl));
    assert_eq!(demo(&["--demo", "nl"]), SourceConfig::Demo(DemoCountry::Nl));
    assert_eq!(demo(&["--demo", "be"]), SourceConfig::Demo(DemoCountry::Be));
    assert_eq!(demo(&["--demo=BE"]), SourceConfig::Demo(DemoCountry::Be));
    assert_eq!(
        demo(&["--demo", "--meter", "x"]),
        SourceConfig::Demo(DemoCountry::Nl)
    );
    assert_eq!(demo(&["--demo=true"]), SourceConfig::Demo(DemoCountry::Nl));
    assert!(matches!(parse(&["--demo=false"]), Err(CliError::NoSource)));
    let be = meter(&["--demo", "be"]);
    assert!(be.capacity.enabled && be.capacity.price.is_some());
    assert!(meter(&["--demo"]).capacity.price.is_none());
    let Err(CliError::Clap(c)) = parse(&["--demo", "fr"]) else {
        panic!("--demo fr: not clap's error")
    };
    assert!(c.to_string().contains("expected nl or be"), "{c}");
}
