//! The backfill outside the CLI, for timing and memory measurements.
//!
//! `cargo run --release --example backfill -- [FILE|-] > out.om` converts a
//! telegram log (statistics on stderr); `--generate N` writes a log of N
//! telegrams (a fixture repeated ten seconds apart, CRCs recomputed).

use dsmr_exporter::backfill::{run, BackfillOptions};
use dsmr_exporter::dsmr::crc::crc16_arc;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

const FIXTURE: &str = include_str!("../fixtures/nl_dsmr50_iskra_am550t_two_mbus.txt");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--generate", n] => match n.parse() {
            Ok(n) => generate(n),
            Err(e) => Err(format!("--generate {n}: {e}")),
        },
        [] | ["-"] => convert(&mut io::stdin().lock()),
        [path] => std::fs::File::open(path)
            .map_err(|e| format!("{path}: {e}"))
            .and_then(|mut f| convert(&mut f)),
        _ => Err("usage: backfill [FILE|-] | --generate N".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("backfill: {e}");
            ExitCode::FAILURE
        }
    }
}

fn convert(input: &mut dyn io::Read) -> Result<(), String> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let started = std::time::Instant::now();
    let stats = run(input, &mut out, &BackfillOptions::default()).map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{stats:?}\n{:.0} telegrams/s",
        (stats.written + stats.skipped()) as f64 / secs
    );
    Ok(())
}

/// The fixture with its clock at 2020-04-26 22:33:25 UTC plus `i * 10` s,
/// written as `W` (UTC+1) wall time, CRC recomputed.
fn generate(n: u64) -> Result<(), String> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let (head, rest) = FIXTURE
        .split_once("0-0:1.0.0(")
        .ok_or("fixture has no 0-0:1.0.0")?;
    let (_, rest) = rest.split_once(')').ok_or("fixture 0-0:1.0.0 unclosed")?;
    let body_end = rest.rfind('!').ok_or("fixture has no '!'")? + 1;
    let tail = &rest[..body_end];
    let mut text = String::new();
    for i in 0..n {
        let t = 1_587_940_405 + 3_600 + i as i64 * 10;
        let (d, s) = (t.div_euclid(86_400), t.rem_euclid(86_400));
        let (y, m, day) = civil(d);
        text.clear();
        text.push_str(head);
        text.push_str(&format!(
            "0-0:1.0.0({:02}{m:02}{day:02}{:02}{:02}{:02}W)",
            y % 100,
            s / 3600,
            s / 60 % 60,
            s % 60
        ));
        text.push_str(tail);
        let crc = crc16_arc(text.as_bytes());
        write!(out, "{text}{crc:04X}\r\n").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Civil date of a day number since 1970-01-01 (H. Hinnant's algorithm).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
