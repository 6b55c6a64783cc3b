//! Engine benchmarks: decoding one DSMR 5 telegram (CRC included) against
//! the `dsmr5` crate on the same bytes in the same run, and framing +
//! decoding a log of 100 000 telegrams.
//!
//! Also: one telegram as JSON, serde_json over the `serde` view into a
//! reused buffer (the engine's dev-dependency on itself turns the `serde`
//! feature on here), and one decimal as a raw JSON number three ways.
//!
//! Run by hand: `cargo bench -p dsmr-engine --bench engine`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use dsmr_engine::{Fixed, FrameEvent, Framer, Telegram, Zone};
use serde_json::value::RawValue;
use std::fmt::Write as _;

/// 3-phase DSMR 5.0 with gas and a valid CRC (Iskra AM550, a real telegram).
const DSMR5: &[u8] = include_bytes!("../../../fixtures/nl_dsmr50_iskra_am550t_3phase_issue91.txt");

fn frame() -> &'static [u8] {
    // The framer yields '/' .. CRC digits; strip the final CRLF.
    DSMR5.strip_suffix(b"\r\n").unwrap_or(DSMR5)
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_dsmr5_3phase_gas");
    g.throughput(Throughput::Elements(1));
    let mut t = Telegram::new();
    g.bench_function("dsmr-exporter", |b| {
        b.iter(|| {
            t.decode_into(black_box(frame())).ok();
            black_box(t.verify(false).is_ok());
        })
    });
    // A meter's first telegram: a new Telegram (its allocations) and no
    // cached layout, so every line takes the general path.
    g.bench_function("dsmr-exporter, first telegram", |b| {
        b.iter(|| {
            let t = Telegram::decode(black_box(frame()));
            black_box(t.map(|t| t.verify(false).is_ok()).ok());
        })
    });
    // dsmr5 needs its 2048-byte Readout; the copy is part of its API.
    g.bench_function("dsmr5", |b| {
        b.iter(|| {
            let mut buffer = [0u8; 2048];
            buffer[..DSMR5.len()].copy_from_slice(black_box(DSMR5));
            let readout = dsmr5::Readout { buffer };
            let n = match readout.to_telegram() {
                Ok(t) => t.objects().filter(|o| o.is_ok()).count(),
                Err(_) => 0,
            };
            black_box(n);
        })
    });
    g.finish();
}

fn log_of(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * DSMR5.len());
    for _ in 0..n {
        v.extend_from_slice(DSMR5);
    }
    v
}

fn frame_and_decode_log(c: &mut Criterion) {
    const N: usize = 100_000;
    let log = log_of(N);
    let mut g = c.benchmark_group("frame_and_decode_log");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("100k_telegrams", |b| {
        let mut framer = Framer::new();
        let mut t = Telegram::new();
        b.iter(|| {
            let mut ok = 0usize;
            for chunk in log.chunks(64 * 1024) {
                framer.feed(chunk, |e| {
                    if let FrameEvent::Telegram(f) = e {
                        if t.decode_into(f).is_ok() && t.verify(false).is_ok() {
                            ok += 1;
                        }
                    }
                });
            }
            assert_eq!(ok, N);
        })
    });
    g.finish();
}

fn crc(c: &mut Criterion) {
    let mut g = c.benchmark_group("crc16_arc");
    g.throughput(Throughput::Bytes(DSMR5.len() as u64));
    g.bench_function("telegram", |b| {
        b.iter(|| black_box(dsmr_engine::crc::crc16_arc(black_box(DSMR5))))
    });
    g.finish();
}

/// A decimal's text on the stack, as json_view made it before.
struct StackText {
    buf: [u8; 48],
    len: usize,
}

impl Default for StackText {
    fn default() -> StackText {
        StackText {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn to_json(c: &mut Criterion) {
    let t = Telegram::decode(frame()).expect("the fixture decodes");
    let mut g = c.benchmark_group("json_dsmr5_3phase_gas");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(4096);
    g.bench_function("serde_json::to_writer, reused Vec", |b| {
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, &black_box(&t).json_view(Zone::CET)).ok();
            black_box(out.len())
        })
    });
    g.finish();

    // Why `Fixed` serializes as it does (src/json_view.rs): its digits,
    // made in a stack buffer, as a raw number through serde_json's token,
    // against the two public ways to get a `RawValue` for the same digits
    // (the text made the same way for the first, by `to_string` for the
    // second, which allocates anyway).
    let mut g = c.benchmark_group("decimal");
    let f = Fixed::new(9_418_807, 3);
    let mut out = Vec::with_capacity(64);
    g.bench_function("Fixed (stack digits, raw token)", |b| {
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, black_box(&f)).ok();
            black_box(out.len())
        })
    });
    g.bench_function("stack digits, from_str::<&RawValue> (parses)", |b| {
        b.iter(|| {
            out.clear();
            let mut buf = StackText::default();
            write!(buf, "{}", black_box(f)).ok();
            if let Ok(raw) = serde_json::from_str::<&RawValue>(buf.as_str()) {
                serde_json::to_writer(&mut out, raw).ok();
            }
            black_box(out.len())
        })
    });
    g.bench_function("RawValue::from_string (parses, allocates)", |b| {
        b.iter(|| {
            out.clear();
            if let Ok(raw) = RawValue::from_string(black_box(f).to_string()) {
                serde_json::to_writer(&mut out, &raw).ok();
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, decode, to_json, frame_and_decode_log, crc);
criterion_main!(benches);
