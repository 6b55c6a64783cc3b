//! What one scrape costs: the exposition of one meter (a DSMR 5 telegram
//! with two M-Bus channels), built as the server builds it; and of 1 000
//! such meters, with its gzip.
//!
//! `cargo bench --bench scrape`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use dsmr_engine::Zone;
use dsmr_exporter::http::compress::gzip_pieces;
use dsmr_exporter::metrics::{render, Format, Metrics, MetricsOptions};
use dsmr_exporter::source::Pipeline;
use dsmr_exporter::state::{Meter, Meters};
use std::time::Duration;

fn meters(n: usize) -> Meters {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/nl_dsmr50_iskra_am550t_two_mbus.txt"
    );
    let telegram = std::fs::read(path).unwrap_or_default();
    let list = (0..n)
        .map(|i| {
            let m = Meter::new(format!("meter{i}"), Zone::CET);
            Pipeline::new(m.clone()).feed(&telegram);
            m
        })
        .collect();
    Meters::new(list)
}

fn scrape(c: &mut Criterion) {
    let opts = MetricsOptions {
        stale_after: Duration::from_secs(86_400),
        expose_equipment_ids: false,
    };
    let one = meters(1);
    assert!(
        one.iter().all(|m| m.lock().telegram.is_some()),
        "fixture did not decode"
    );
    let metrics = Metrics::new(one.clone(), opts.clone());
    c.bench_function("render one meter, text 0.0.4", |b| {
        b.iter(|| black_box(metrics.render(Format::Text004)))
    });
    c.bench_function("render one meter, OpenMetrics", |b| {
        b.iter(|| black_box(metrics.render(Format::OpenMetrics)))
    });
    c.bench_function("render one meter, registry built per call", |b| {
        b.iter(|| black_box(render(&one, &opts, Format::Text004)))
    });
    let four = Metrics::new(meters(4), opts.clone());
    c.bench_function("render four meters, text 0.0.4", |b| {
        b.iter(|| black_box(four.render(Format::Text004)))
    });
    // 1 000 meters: the chunked, parallel rendering and the gzip of its
    // 4.6 MB (one thread, so the backend's own speed shows).
    let many = Metrics::new(meters(1000), opts);
    let mut group = c.benchmark_group("1 000 meters");
    group.sample_size(10);
    group.bench_function("render, text 0.0.4", |b| {
        b.iter(|| black_box(many.render_pieces(Format::Text004)))
    });
    let text = many.render_pieces(Format::Text004);
    group.bench_function("gzip, one thread", |b| {
        b.iter(|| black_box(gzip_pieces(text.pieces(), 1)))
    });
    group.bench_function("gzip, two threads", |b| {
        b.iter(|| black_box(gzip_pieces(text.pieces(), 2)))
    });
    group.finish();
}

criterion_group!(benches, scrape);
criterion_main!(benches);
