//! What a telegram costs the meters' thread, past the socket: framing,
//! decoding, the register guard and the meter's state, for one meter
//! (its state in the CPU's caches) and for 10 000 meters in turn (each
//! meter's state cold, as at 10 000 meters on one exporter, where this
//! part is most of the exporter's CPU: docs/scale.md).
//!
//! `cargo bench --bench record`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use dsmr_engine::Zone;
use dsmr_exporter::source::{DemoMeter, Pipeline};
use dsmr_exporter::state::Meter;
use std::time::{Duration, SystemTime};

/// The harness's telegrams: a demo meter per meter, a second apart.
struct Demos {
    demos: Vec<DemoMeter>,
    now: SystemTime,
}

impl Demos {
    fn new(n: usize) -> Demos {
        let now = SystemTime::now();
        Demos {
            demos: (0..n).map(|i| DemoMeter::new(i as u64, now)).collect(),
            now,
        }
    }

    /// Each meter's next telegram, one second on.
    fn next_round(&mut self) -> Vec<Vec<u8>> {
        self.now += Duration::from_secs(1);
        let now = self.now;
        self.demos
            .iter_mut()
            .map(|d| d.next_telegram(now))
            .collect()
    }
}

/// Feeds each meter its telegram of the round, in turn.
fn feed(pipelines: &mut [Pipeline], round: &[Vec<u8>]) -> usize {
    pipelines
        .iter_mut()
        .zip(round)
        .map(|(p, t)| p.feed(t))
        .sum()
}

fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("record a telegram");
    for (name, n) in [("one meter", 1usize), ("10 000 meters in turn", 10_000)] {
        let mut demos = Demos::new(n);
        let mut pipelines: Vec<Pipeline> = (0..n)
            .map(|i| Pipeline::new(Meter::new(format!("meter{i}"), Zone::CET)))
            .collect();
        // Every meter past its first telegram, as in the field.
        feed(&mut pipelines, &demos.next_round());
        group.throughput(criterion::Throughput::Elements(n as u64));
        group.sample_size(if n > 1 { 20 } else { 100 });
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || demos.next_round(),
                |round| {
                    let done = black_box(feed(&mut pipelines, round));
                    assert_eq!(done, round.len(), "a telegram did not complete");
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, record);
criterion_main!(benches);
