//! Backfill throughput: a log of 10 000 DSMR 5 telegrams (a fixture ten
//! seconds apart, CRCs recomputed) to OpenMetrics, spool included.
//!
//! `cargo bench --bench backfill`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dsmr_engine::crc::crc16_arc;
use dsmr_exporter::cmd::backfill::{run, BackfillOptions};
use std::io;

const N: u64 = 10_000;

/// `N` telegrams from 2021-01-01 00:00:00 UTC (`W`, UTC+1 wall time), with
/// a tariff 1 register that grows by 1 Wh a telegram.
fn log() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/nl_dsmr50_iskra_am550t_two_mbus.txt"
    );
    let text = String::from_utf8(std::fs::read(path).unwrap_or_default()).unwrap_or_default();
    let mut log = Vec::new();
    for i in 0..N {
        // Within one day: only hours, minutes and seconds change.
        let s = 3_600 + i * 8;
        let stamp = format!(
            "2101{:02}{:02}{:02}{:02}W",
            1 + s / 86_400,
            s / 3600 % 24,
            s / 60 % 60,
            s % 60
        );
        let t = text.replace("200426223325S", &stamp).replace(
            "002130.115",
            &format!("{:06}.{:03}", (1_000_000 + i) / 1000, i % 1000),
        );
        let Some(bang) = t.find("\r\n!").map(|b| b + 3) else {
            return Vec::new();
        };
        log.extend_from_slice(&t.as_bytes()[..bang]);
        log.extend_from_slice(format!("{:04X}\r\n", crc16_arc(&t.as_bytes()[..bang])).as_bytes());
    }
    log
}

fn backfill(c: &mut Criterion) {
    let log = log();
    let opts = BackfillOptions::default();
    let stats = run(&mut &log[..], &mut io::sink(), &opts).ok();
    assert_eq!(
        stats.map(|s| s.written),
        Some(N),
        "the generated log did not backfill"
    );
    let mut g = c.benchmark_group("backfill");
    g.throughput(Throughput::Elements(N));
    g.sample_size(20);
    g.bench_function("10k_telegrams_to_sink", |b| {
        b.iter(|| run(&mut &log[..], &mut io::sink(), &opts))
    });
    // Removed when the bench ends; each run truncates it.
    let out = tempfile::Builder::new()
        .prefix("dsmr-backfill-bench-")
        .suffix(".om")
        .tempfile()
        .expect("a temporary output file");
    let path = out.path().to_owned();
    g.bench_function("10k_telegrams_to_file", |b| {
        b.iter(|| {
            let mut f = std::fs::File::create(&path).map(io::BufWriter::new);
            match &mut f {
                Ok(f) => run(&mut &log[..], f, &opts).is_ok(),
                Err(_) => false,
            }
        })
    });
    drop(out);
    g.finish();
}

criterion_group!(benches, backfill);
criterion_main!(benches);
