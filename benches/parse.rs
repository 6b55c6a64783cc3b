//! `dsmr-exporter parse` of a 20 000-telegram capture, JSON out included,
//! per telegram, against the `dsmr5` crate decoding the same telegrams one by
//! one, in the same run (the bar: parse costs no more per telegram
//! than dsmr5 takes to decode one).
//!
//! Run by hand: `cargo bench --bench parse`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use dsmr_engine::Zone;

/// 3-phase DSMR 5.0 with gas and a valid CRC (Iskra AM550, a real telegram).
const DSMR5: &[u8] = include_bytes!("../fixtures/nl_dsmr50_iskra_am550t_3phase_issue91.txt");

const N: usize = 20_000;

fn capture() -> Vec<u8> {
    DSMR5.repeat(N)
}

fn parse_capture(c: &mut Criterion) {
    let capture = capture();
    let mut g = c.benchmark_group("parse_20000_telegrams");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("dsmr-exporter parse (JSON out)", |b| {
        b.iter(|| {
            let mut out = std::io::sink();
            let r =
                dsmr_exporter::cmd::parse::run(&mut black_box(&capture[..]), &mut out, Zone::CET);
            black_box(r.is_ok());
        })
    });
    // dsmr5 needs its 2048-byte Readout per telegram; the copy is part of its API.
    g.bench_function("dsmr5 decode", |b| {
        b.iter(|| {
            let mut objects = 0;
            for _ in 0..N {
                let mut buffer = [0u8; 2048];
                buffer[..DSMR5.len()].copy_from_slice(black_box(DSMR5));
                let readout = dsmr5::Readout { buffer };
                if let Ok(t) = readout.to_telegram() {
                    objects += t.objects().filter(|o| o.is_ok()).count();
                }
            }
            black_box(objects);
        })
    });
    g.finish();
}

criterion_group!(benches, parse_capture);
criterion_main!(benches);
