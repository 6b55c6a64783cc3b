//! Cost across restarts, end to end: the real binary bills a replay,
//! stops on SIGTERM (writing its cost file in the state directory), starts
//! again on the telegrams that follow, and `dsmr_cost_total` goes on from
//! where it stopped to the cent, the energy used while it was down billed
//! at the fixed price that held all along. A cost file that does not read
//! is logged and the meter counts from zero.

mod common;
use common::priced::{base, telegram};

use common::bin::{cmd, scrape_until, start, telegrams};
use common::TempDir;
use std::time::{Duration, Instant};

/// The value of the first sample of `name` whose labels contain `label`.
fn value(body: &str, name: &str, label: &str) -> Option<f64> {
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Money as a bill shows it: cents.
fn cents(v: Option<f64>) -> Option<i64> {
    v.map(|v| (v * 100.0).round() as i64)
}

const CONFIG: &str = "[web]\nlisten_address = \"127.0.0.1:0\"\n\n[[meter]]\nname = \"house\"\n\
    replay = { file = \"t.txt\", interval = \"20ms\" }\n\
    [meter.prices]\nfixed_per_day = \"0.864\"\n\
    [meter.prices.electricity.import]\ntariff1 = \"0.20\"\ntariff2 = \"0.30\"\n\
    [meter.prices.electricity.export]\nprice = \"0.07\"\n\
    [meter.prices.gas]\nprice = \"1.40\"\n\n\
    [prices]\nstate_dir = \"state\"\n";

/// Runs the exporter on `lines` until all are in; the scrape, and the
/// process (still running) with its log and address.
fn run(
    dir: &TempDir,
    lines: &[String],
) -> (
    String,
    common::bin::Running,
    std::sync::mpsc::Receiver<String>,
    String,
) {
    dir.write("t.txt", lines.concat());
    let config = dir.write("c.toml", CONFIG);
    let (child, addr, log) = start(cmd().arg("--config").arg(&config));
    let n = lines.len() as f64;
    let body = scrape_until(&addr, "every telegram", |b| {
        telegrams(b, "house", "ok") == Some(n)
    });
    (body, child, log, addr)
}

/// SIGTERM, as systemd and docker stop it; waits for a clean exit.
fn terminate(child: &mut common::bin::Running) {
    let pid = child.0.id().to_string();
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            return;
        }
        assert!(Instant::now() < deadline, "no exit 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_cost_goes_on_across_a_restart_to_the_cent() {
    let dir = TempDir::new("cost-restart");
    std::fs::create_dir_all(dir.0.join("state")).unwrap();
    let b = base();
    let before = [
        telegram(b, 1_000_000, 2_000_000, 500_000, 100_000),
        telegram(b + 900, 1_000_000, 2_001_234, 500_500, 100_250),
    ];
    let (body, mut child, _log, _) = run(&dir, &before);
    let cost = |body: &str, c: &str| {
        value(
            body,
            "dsmr_cost_total",
            &format!("commodity=\"{c}\",currency=\"EUR\""),
        )
    };
    // 1.234 kWh at 0.30, 0.25 m3 at 1.40, 15 minutes of 0.864 a day.
    assert_eq!(cost(&body, "electricity"), Some(0.3702), "{body}");
    assert_eq!(cost(&body, "gas"), Some(0.35));
    assert_eq!(cost(&body, "fixed"), Some(0.009));
    assert_eq!(value(&body, "dsmr_earnings_total", "EUR"), Some(0.035));
    terminate(&mut child);
    let file = dir.0.join("state/cost-house.txt");
    let kept = std::fs::read_to_string(&file).expect("the cost file");
    assert!(kept.starts_with("# dsmr-exporter cost v1\n"), "{kept}");

    // Down for ten minutes (meter time), then on.
    let after = [
        // +0.5 kWh tariff 2 and +0.1 m3 used while down: the fixed prices
        // held all along, so they are billed (0.15 and 0.14).
        telegram(b + 1_500, 1_000_000, 2_001_734, 500_500, 100_350),
        // +1 kWh tariff 1 at 0.20.
        telegram(b + 2_400, 1_001_000, 2_001_734, 500_500, 100_350),
    ];
    let (body, mut child, _log, _) = run(&dir, &after);
    assert_eq!(cost(&body, "electricity"), Some(0.7202), "{body}");
    assert_eq!(cents(cost(&body, "electricity")), Some(72));
    assert_eq!(cost(&body, "gas"), Some(0.49));
    assert_eq!(
        cost(&body, "fixed"),
        Some(0.024),
        "40 minutes of 0.864 a day"
    );
    assert_eq!(value(&body, "dsmr_earnings_total", "EUR"), Some(0.035));
    terminate(&mut child);

    // A file that is not one: logged, and the meter counts from zero.
    std::fs::write(&file, "# dsmr-exporter cost v1\ncurrency EUR\nat soon\n").unwrap();
    let (body, _child, log, _) = run(&dir, &after);
    assert_eq!(cost(&body, "electricity"), Some(0.2), "{body}");
    let said: Vec<String> = log.try_iter().collect();
    assert!(
        said.iter()
            .any(|l| l
                .contains("cost file ignored, counting from zero: line 3: expected Unix seconds")),
        "{said:#?}"
    );
}

#[test]
fn a_reload_that_changes_the_meter_keeps_its_cost() {
    let dir = TempDir::new("cost-reload");
    std::fs::create_dir_all(dir.0.join("state")).unwrap();
    let b = base();
    let before = [
        telegram(b, 1_000_000, 2_000_000, 500_000, 100_000),
        telegram(b + 900, 1_000_000, 2_001_234, 500_500, 100_250),
    ];
    let (body, child, _log, addr) = run(&dir, &before);
    let electricity = |body: &str| {
        value(
            body,
            "dsmr_cost_total",
            "commodity=\"electricity\",currency=\"EUR\"",
        )
    };
    assert_eq!(electricity(&body), Some(0.3702), "{body}");
    // A new tariff 2 price and the telegrams that follow: the meter is
    // changed, so SIGHUP stops it (writing its cost file, long before the
    // minute's write) and starts it again from that file.
    dir.write(
        "t2.txt",
        [
            telegram(b + 1_500, 1_000_000, 2_001_734, 500_500, 100_350),
            telegram(b + 2_400, 1_001_000, 2_001_734, 500_500, 100_350),
        ]
        .concat(),
    );
    dir.write(
        "c.toml",
        CONFIG
            .replace("t.txt", "t2.txt")
            .replace("tariff2 = \"0.30\"", "tariff2 = \"0.40\""),
    );
    let pid = child.0.id().to_string();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill");
    assert!(hup.success());
    // 0.3702, then the 0.5 kWh of the gap at the price now in force (0.40)
    // and 1 kWh of tariff 1 at 0.20. From zero it would be 0.20.
    let body = scrape_until(&addr, "the cost after the reload", |b| {
        electricity(b) == Some(0.7702)
    });
    assert!(dir.0.join("state/cost-house.txt").exists(), "{body}");
}
