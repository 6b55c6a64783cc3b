//! Sources through their real parts: a pseudo-terminal for the serial port,
//! real TCP servers, replay files on disk, and the demo meter's telegrams
//! through the real framer and decoder.

mod common;
use common::{fixture, wait_for, Task, TempDir, FAST_RETRY};
use dsmr_engine::{CrcStatus, Quantity, Telegram, Zone};
use dsmr_exporter::source::Pipeline;
use dsmr_exporter::source::{
    serial, tcp, DemoMeter, Replay, ReplayConfig, SerialConfig, SourceError, TcpConfig,
};
use dsmr_exporter::state::Meter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A fixture with a valid CRC.
const GOOD: &str = "nl_dsmr50_iskra_am550t_two_mbus.txt";
/// A fixture whose published CRC does not match.
const BAD_CRC: &str = "nl_dsmr40_iskra_mt382_spec_typos.txt";

fn imported_t1(meter: &Meter) -> Option<String> {
    let st = meter.lock();
    st.telegram
        .as_ref()
        .and_then(|t| t.imported[1])
        .map(|q| q.to_string())
}

/// Points `link` at `target`, replacing what was there in one step.
fn relink(target: &str, link: &Path) {
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).expect("symlink");
    std::fs::rename(&tmp, link).expect("rename symlink");
}

fn pty() -> (tokio_serial::SerialStream, String) {
    use tokio_serial::SerialPort;
    let (master, slave) = tokio_serial::SerialStream::pair().expect("open a pseudo-terminal");
    let path = slave.name().expect("pty has a name");
    // The source opens the far end itself, by path.
    drop(slave);
    (master, path)
}

#[tokio::test]
async fn serial_reads_a_pty_and_comes_back_after_replug() {
    let dir = TempDir::new("serial");
    let link = dir.0.join("ttyP1");
    let (mut master, path) = pty();
    relink(&path, &link);

    let meter = Meter::new("main", Zone::CET);
    let cfg = SerialConfig {
        retry: FAST_RETRY,
        ..SerialConfig::new(link.to_string_lossy())
    };
    let _task = Task(tokio::spawn(serial::run(cfg, meter.clone())));
    wait_for(&meter, "port open", |st| st.source_up).await;

    master.write_all(&fixture(GOOD)).await.expect("write");
    wait_for(&meter, "first telegram", |st| st.ok == 1).await;
    assert_eq!(imported_t1(&meter).as_deref(), Some("2130.115 kWh"));
    assert_eq!(meter.lock().reconnects, 0);

    // Unplug: the device disappears and the far end hangs up.
    std::fs::remove_file(&link).expect("remove link");
    drop(master);
    wait_for(&meter, "port down", |st| !st.source_up).await;

    // Plug back in: a new device appears at the same path.
    let (mut master, path) = pty();
    relink(&path, &link);
    wait_for(&meter, "port reopened", |st| {
        st.source_up && st.reconnects == 1
    })
    .await;
    master.write_all(&fixture(GOOD)).await.expect("write");
    master.write_all(&fixture(BAD_CRC)).await.expect("write");
    wait_for(&meter, "telegrams after replug", |st| {
        st.ok == 2 && st.crc_mismatch == 1
    })
    .await;
}

#[tokio::test]
async fn serial_port_missing_at_start_is_retried() {
    let dir = TempDir::new("serial-late");
    let link = dir.0.join("ttyLATE");
    let meter = Meter::new("main", Zone::CET);
    let cfg = SerialConfig {
        retry: FAST_RETRY,
        ..SerialConfig::new(link.to_string_lossy())
    };
    let _task = Task(tokio::spawn(serial::run(cfg, meter.clone())));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!meter.lock().source_up);

    let (mut master, path) = pty();
    relink(&path, &link);
    wait_for(&meter, "port open", |st| st.source_up).await;
    // The first successful open is not a reconnect.
    assert_eq!(meter.lock().reconnects, 0);
    master.write_all(&fixture(GOOD)).await.expect("write");
    wait_for(&meter, "telegram", |st| st.ok == 1).await;
}

#[tokio::test]
async fn tcp_reconnects_after_the_server_drops_and_restarts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let meter = Meter::new("main", Zone::CET);
    let cfg = TcpConfig {
        retry: FAST_RETRY,
        ..TcpConfig::new(addr.to_string(), Duration::from_secs(30))
    };
    let _task = Task(tokio::spawn(tcp::run(cfg, meter.clone())));

    let (mut conn, _) = accept(&listener).await;
    // A telegram split over two writes still counts once.
    let good = fixture(GOOD);
    conn.write_all(&good[..100]).await.expect("write");
    conn.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(20)).await;
    conn.write_all(&good[100..]).await.expect("write");
    wait_for(&meter, "first telegram", |st| st.ok == 1 && st.source_up).await;
    assert_eq!(imported_t1(&meter).as_deref(), Some("2130.115 kWh"));

    // The server goes away entirely.
    drop(conn);
    drop(listener);
    wait_for(&meter, "connection down", |st| !st.source_up).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        meter.lock().reconnects,
        0,
        "refused connects are not reconnects"
    );

    // And comes back on the same port.
    let listener = TcpListener::bind(addr).await.expect("rebind");
    let (mut conn, _) = accept(&listener).await;
    conn.write_all(&fixture(GOOD)).await.expect("write");
    wait_for(&meter, "telegram after restart", |st| {
        st.ok == 2 && st.source_up && st.reconnects == 1
    })
    .await;
}

#[tokio::test]
async fn tcp_silent_connection_is_reopened_after_stale_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let meter = Meter::new("main", Zone::CET);
    let cfg = TcpConfig {
        retry: FAST_RETRY,
        ..TcpConfig::new(addr.to_string(), Duration::from_millis(300))
    };
    let _task = Task(tokio::spawn(tcp::run(cfg, meter.clone())));

    let (mut first, _) = accept(&listener).await;
    first.write_all(&fixture(GOOD)).await.expect("write");
    wait_for(&meter, "telegram", |st| st.ok == 1).await;
    // Keep `first` open but silent: the source must give up on it.
    let started = Instant::now();
    let (mut second, _) = accept(&listener).await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    wait_for(&meter, "reconnected", |st| {
        st.reconnects == 1 && st.source_up
    })
    .await;
    second.write_all(&fixture(GOOD)).await.expect("write");
    wait_for(&meter, "telegram on new connection", |st| st.ok == 2).await;
    drop(first);
}

async fn accept(listener: &TcpListener) -> (tokio::net::TcpStream, std::net::SocketAddr) {
    tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("the source connects within 5 s")
        .expect("accept")
}

fn replay_file(dir: &TempDir) -> PathBuf {
    let mut bytes = fixture(GOOD);
    bytes.extend(fixture(BAD_CRC));
    bytes.extend(fixture("nl_dsmr42_kaifa_7powerfail_epoch.txt"));
    let path = dir.0.join("replay.txt");
    std::fs::write(&path, bytes).expect("write replay file");
    path
}

#[tokio::test]
async fn replay_once_feeds_every_telegram_then_ends() {
    let dir = TempDir::new("replay");
    let path = replay_file(&dir);
    let replay = Replay::load(&path).await.expect("load");
    assert_eq!((replay.len(), replay.skipped()), (3, 0));

    let meter = Meter::new("main", Zone::CET);
    let cfg = ReplayConfig {
        path,
        interval: Duration::ZERO,
        looped: false,
        smarty: None,
    };
    tokio::time::timeout(Duration::from_secs(5), replay.run(&cfg, meter.clone()))
        .await
        .expect("a single replay ends");
    let st = meter.lock();
    assert_eq!((st.ok, st.crc_mismatch, st.malformed), (2, 1, 0));
    assert!(!st.source_up, "the source is down once the replay is over");
    // The last valid telegram stays on show: the Kaifa one.
    let t = st.telegram.as_ref().expect("telegram");
    assert_eq!(t.manufacturer(), "KFM");
}

#[tokio::test]
async fn replay_loop_keeps_feeding_and_stays_up() {
    let dir = TempDir::new("replay-loop");
    let path = replay_file(&dir);
    let replay = Replay::load(&path).await.expect("load");
    let meter = Meter::new("main", Zone::CET);
    let cfg = ReplayConfig {
        path,
        interval: Duration::ZERO,
        looped: true,
        smarty: None,
    };
    let m = meter.clone();
    let _task = Task(tokio::spawn(async move { replay.run(&cfg, m).await }));
    wait_for(&meter, "three passes", |st| {
        st.ok >= 6 && st.crc_mismatch >= 3 && st.source_up
    })
    .await;
}

#[tokio::test]
async fn replay_interval_paces_the_telegrams() {
    let dir = TempDir::new("replay-pace");
    let path = replay_file(&dir);
    let replay = Replay::load(&path).await.expect("load");
    let meter = Meter::new("main", Zone::CET);
    let interval = Duration::from_millis(100);
    let cfg = ReplayConfig {
        path,
        interval,
        looped: true,
        smarty: None,
    };
    let m = meter.clone();
    let started = Instant::now();
    let _task = Task(tokio::spawn(async move { replay.run(&cfg, m).await }));
    wait_for(&meter, "four telegrams", |st| st.ok + st.crc_mismatch >= 4).await;
    let elapsed = started.elapsed();
    // The first telegram comes at once, then one per interval.
    assert!(
        elapsed >= interval * 3 - Duration::from_millis(20),
        "{elapsed:?}"
    );
    let fed = {
        let st = meter.lock();
        st.ok + st.crc_mismatch
    };
    let most = (started.elapsed().as_millis() / interval.as_millis()) as u64 + 1;
    assert!(fed <= most, "{fed} telegrams after {elapsed:?}");
}

#[tokio::test]
async fn replay_refuses_missing_and_empty_files() {
    let dir = TempDir::new("replay-bad");
    let missing = dir.0.join("missing.txt");
    assert!(matches!(
        Replay::load(&missing).await,
        Err(SourceError::ReplayRead { .. })
    ));
    let empty = dir.0.join("empty.txt");
    std::fs::write(&empty, b"no telegram here\r\n").expect("write");
    let err = Replay::load(&empty).await.unwrap_err();
    assert!(matches!(err, SourceError::ReplayEmpty { .. }));
    assert!(err.to_string().contains("empty.txt"));
}

// ---- the demo meter ----

/// 2026-06-17 00:00 CEST, a Wednesday.
const JUNE_WEDNESDAY: u64 = 1_781_647_200;
/// 2026-06-20 00:00 CEST, a Saturday.
const JUNE_SATURDAY: u64 = 1_781_906_400;
/// 2026-01-14 00:00 CET, a Wednesday.
const JANUARY_WEDNESDAY: u64 = 1_768_345_200;

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

fn decode(bytes: &[u8]) -> Telegram {
    let t = Telegram::decode(bytes).expect("demo telegram decodes");
    assert!(matches!(t.crc, CrcStatus::Valid(_)), "{:?}", t.crc);
    assert!(t.errors.is_empty(), "field errors: {:?}", t.errors);
    assert!(t.unknown.is_empty(), "unknown lines: {:?}", t.unknown);
    t
}

/// A value in thousandths (every demo register has three decimals).
fn milli(q: Option<Quantity>) -> i64 {
    let q = q.expect("value present");
    assert_eq!(q.value.scale, 3, "{q}");
    q.value.mantissa
}

fn units(q: Option<Quantity>) -> f64 {
    q.expect("value present").value.to_f64()
}

#[test]
fn demo_telegrams_pass_the_real_framer_and_decoder() {
    let meter = Meter::new("demo", Zone::CET);
    let mut pipeline = Pipeline::new(meter.clone());
    let mut demo = DemoMeter::new(42, at(JUNE_WEDNESDAY));
    for s in 1..=10 {
        let bytes = demo.next_telegram(at(JUNE_WEDNESDAY + s));
        // In odd pieces, as a serial port would deliver them.
        for chunk in bytes.chunks(61) {
            pipeline.feed(chunk);
        }
    }
    let st = meter.lock();
    assert_eq!((st.ok, st.crc_mismatch, st.malformed), (10, 0, 0));
    assert_eq!(st.field_errors, 0);
    let t = st.telegram.as_ref().expect("telegram");
    decode(t.raw());
    assert_eq!(t.manufacturer(), "XDM");
    assert_eq!(t.declared_version(), Some("50"));
    assert!(t.timestamp.is_some());
    assert!(t.equipment_id.is_some());
    assert_eq!(t.mbus[0].device_type, Some(3));
    assert_eq!(t.mbus[1].device_type, Some(7));
    assert!(t.mbus[0].reading.is_some() && t.mbus[1].reading.is_some());
    assert_eq!(t.power_failure_log.len(), 2);
    assert!(t.power_failures.is_some() && t.long_power_failures == Some(2));
    for p in &t.phases {
        assert!(p.voltage.is_some() && p.current.is_some());
        assert!(p.power_import.is_some() && p.power_export.is_some());
        assert!(p.voltage_sags.is_some() && p.voltage_swells.is_some());
    }
}

/// Runs the demo through a day in steps of `step` seconds and checks every
/// telegram; returns them decoded.
fn simulate_day(seed: u64, midnight: u64, step: u64) -> Vec<Telegram> {
    let mut demo = DemoMeter::new(seed, at(midnight));
    let mut out: Vec<Telegram> = Vec::new();
    for s in (step..=86_400).step_by(step as usize) {
        let t = decode(&demo.next_telegram(at(midnight + s)));
        let import = units(t.power_import);
        let export = units(t.power_export);
        assert!(import == 0.0 || export == 0.0, "import and export at once");
        let mut net_phases = 0.0;
        for p in &t.phases {
            let v = units(p.voltage);
            assert!((227.0..=233.0).contains(&v), "voltage {v}");
            let pw = (units(p.power_import) - units(p.power_export)) * 1000.0;
            net_phases += pw;
            let amps = units(p.current);
            assert!(
                (amps - pw.abs() / v).abs() <= 0.51,
                "{amps} A for {pw} W at {v} V"
            );
        }
        assert!(((import - export) * 1000.0 - net_phases).abs() < 0.5);
        if let Some(prev) = out.last() {
            for i in 1..=2 {
                assert!(milli(t.imported[i]) >= milli(prev.imported[i]));
                assert!(milli(t.exported[i]) >= milli(prev.exported[i]));
            }
            for ch in 0..2 {
                let now = t.mbus[ch].reading.expect("reading");
                let before = prev.mbus[ch].reading.expect("reading");
                assert!(milli(Some(now.value)) >= milli(Some(before.value)));
                assert_eq!(now.time.minute % 5, 0, "captured every 5 minutes");
                assert_eq!(now.time.second, 0);
            }
        }
        out.push(t);
    }
    out
}

fn hour(t: &Telegram) -> u8 {
    t.timestamp.expect("timestamp").hour
}

#[test]
fn demo_summer_day_exports_at_midday_and_registers_never_decrease() {
    let day = simulate_day(7, JUNE_WEDNESDAY, 60);
    let (first, last) = (&day[0], &day[day.len() - 1]);
    assert_eq!(hour(first), 0);
    assert!(first.timestamp.expect("ts").to_string().ends_with(" S"));
    // Solar beats the household around midday: export, no import.
    let midday_export = day
        .iter()
        .filter(|t| (11..16).contains(&hour(t)))
        .filter(|t| units(t.power_export) > 0.0 && units(t.power_import) == 0.0)
        .count();
    assert!(
        midday_export > 120,
        "only {midday_export} minutes of export"
    );
    // At night there is no sun.
    assert!(day
        .iter()
        .filter(|t| hour(t) < 4)
        .all(|t| units(t.power_export) == 0.0 && units(t.power_import) > 0.0));
    // Export lands on the weekday day tariff, and both tariffs see import.
    assert!(milli(last.exported[2]) > milli(first.exported[2]));
    assert!(milli(last.imported[1]) > milli(first.imported[1]));
    assert!(milli(last.imported[2]) >= milli(first.imported[2]));
    // A plausible day: a few kWh in, a few more out.
    let kwh_in = (milli(last.imported[1]) + milli(last.imported[2])
        - milli(first.imported[1])
        - milli(first.imported[2])) as f64
        / 1000.0;
    let kwh_out = (milli(last.exported[2]) - milli(first.exported[2])) as f64 / 1000.0;
    assert!((2.0..20.0).contains(&kwh_in), "{kwh_in} kWh imported");
    assert!((5.0..40.0).contains(&kwh_out), "{kwh_out} kWh exported");
    // Water in bursts: some five-minute slots use none, some use litres.
    let water = |t: &Telegram| milli(Some(t.mbus[1].reading.expect("water").value));
    let slots: Vec<i64> = day
        .iter()
        .step_by(5)
        .map(water)
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    // (thousandths of a m³ are litres)
    assert!(slots.contains(&0));
    assert!(slots.iter().any(|&litres| litres > 5));
    assert!(water(last) > water(first));
}

#[test]
fn demo_tariff_follows_the_dutch_schedule() {
    let day = simulate_day(3, JUNE_WEDNESDAY, 300);
    for t in &day {
        let expected = if (7..23).contains(&hour(t)) { 2 } else { 1 };
        assert_eq!(t.tariff, Some(expected), "at {:?}", t.timestamp);
    }
    let saturday = simulate_day(3, JUNE_SATURDAY, 900);
    assert!(saturday.iter().all(|t| t.tariff == Some(1)));
    // Nothing moves to the day tariff on a weekend.
    let (first, last) = (&saturday[0], &saturday[saturday.len() - 1]);
    assert_eq!(milli(first.imported[2]), milli(last.imported[2]));
    assert_eq!(milli(first.exported[2]), milli(last.exported[2]));
}

#[test]
fn demo_winter_burns_gas_in_the_morning_not_at_night() {
    let day = simulate_day(11, JANUARY_WEDNESDAY, 300);
    let gas = |h: u8| {
        let t = day.iter().find(|t| hour(t) == h).expect("hour present");
        milli(Some(t.mbus[0].reading.expect("gas").value))
    };
    let night = gas(4) - gas(2);
    let morning = gas(9) - gas(6);
    assert!(morning > 500, "{morning} litres of gas in the morning");
    assert!(morning > 3 * night, "morning {morning} vs night {night}");
    // No export on a winter night, and the meter says winter time.
    assert!(day[0].timestamp.expect("ts").to_string().ends_with(" W"));
    assert!(day
        .iter()
        .filter(|t| hour(t) < 6)
        .all(|t| units(t.power_export) == 0.0));
}

#[test]
fn demo_clock_going_back_never_lowers_a_register() {
    let mut demo = DemoMeter::new(5, at(JUNE_WEDNESDAY));
    let a = decode(&demo.next_telegram(at(JUNE_WEDNESDAY + 3_600)));
    let b = decode(&demo.next_telegram(at(JUNE_WEDNESDAY + 60)));
    let c = decode(&demo.next_telegram(at(JUNE_WEDNESDAY + 3_660)));
    for i in 1..=2 {
        assert_eq!(milli(a.imported[i]), milli(b.imported[i]));
        assert!(milli(c.imported[i]) >= milli(b.imported[i]));
    }
}

#[test]
fn demo_is_deterministic_for_a_seed() {
    let run = |seed| {
        let mut d = DemoMeter::new(seed, at(JUNE_WEDNESDAY));
        (1..50)
            .map(|s| d.next_telegram(at(JUNE_WEDNESDAY + s * 37)))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}
