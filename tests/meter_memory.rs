//! Heap per meter, counted by a global allocator that tracks live bytes:
//! one meter's state (its latest telegram, register guard, counters) and
//! the pipeline a source feeds it through (framer buffer, scratch
//! telegram). At 10 000 TCP meters every KiB here is 10 MiB of the
//! exporter's resident memory (docs/scale.md).

use dsmr_exporter::source::{DemoMeter, Pipeline};
use dsmr_exporter::state::Meter;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, SystemTime};

struct Live;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static ALLOCATOR: Live = Live;

const METERS: usize = 100;

/// The tests count one process-wide total: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_meter_and_its_pipeline_stay_small() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let start = SystemTime::now();
    let telegrams: Vec<Vec<u8>> = {
        let mut demo = DemoMeter::new(7, start);
        (0..5)
            .map(|i| demo.next_telegram(start + Duration::from_secs(i)))
            .collect()
    };
    let before = LIVE.load(Ordering::Relaxed);
    let meters: Vec<_> = (0..METERS)
        .map(|i| {
            Meter::with_stale_after(
                format!("m{i:05}"),
                dsmr_engine::Zone::CET,
                Duration::from_secs(60),
            )
        })
        .collect();
    let bare = LIVE.load(Ordering::Relaxed);
    let mut pipelines: Vec<Pipeline> = meters.iter().map(|m| Pipeline::new(m.clone())).collect();
    let fresh = LIVE.load(Ordering::Relaxed);
    for p in &mut pipelines {
        for t in &telegrams {
            // In pieces, as a socket delivers them.
            for chunk in t.chunks(700) {
                p.feed(chunk);
            }
        }
    }
    let fed = LIVE.load(Ordering::Relaxed);
    assert!(
        meters.iter().all(|m| m.lock().ok == 5),
        "every telegram decoded"
    );
    let per = |a: isize, b: isize| (b - a) as f64 / METERS as f64 / 1024.0;
    let (meter_kib, pipeline_kib, telegram_kib) =
        (per(before, bare), per(bare, fresh), per(fresh, fed));
    let total = per(before, fed);
    println!(
        "per meter: {meter_kib:.2} KiB meter, {pipeline_kib:.2} KiB empty pipeline, \
         {telegram_kib:.2} KiB once telegrams flow; {total:.2} KiB in all"
    );
    // Before issue 15: 10.0 KiB meter (a 7 KiB array of register slots),
    // 22.4 KiB pipeline (a scratch telegram of its own), 12.3 KiB more once
    // telegrams flowed (the scratch's buffers). The pipeline is now the
    // engine's framer reserve (16 KiB limit + a 4 KiB block), of which
    // only the pages a telegram touches become resident.
    // 4.7 KiB before a quantity took 16 bytes instead of 24 and a cost
    // account was boxed (it is only there for a meter with prices): 3.2.
    assert!(meter_kib < 3.5, "meter {meter_kib:.2} KiB");
    assert!(pipeline_kib < 21.0, "pipeline {pipeline_kib:.2} KiB");
    assert!(telegram_kib < 10.0, "telegrams {telegram_kib:.2} KiB");
}

#[test]
fn six_hours_of_power_samples_stay_small() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use dsmr_exporter::state::history::{History, POINTS, SLOT_SECONDS};
    let start = SystemTime::now();
    let mut demo = DemoMeter::new(7, start);
    let t = dsmr_engine::Telegram::decode(&demo.next_telegram(start)).expect("demo decodes");
    let mut rings: Vec<History> = (0..METERS).map(|_| History::default()).collect();
    let before = LIVE.load(Ordering::Relaxed);
    // Six hours and more, a telegram a second, on one meter's clock.
    for at in 0..(POINTS as i64 + 10) * SLOT_SECONDS {
        for h in &mut rings {
            h.observe_power(&t, 1_700_000_000 + at);
        }
    }
    let kib = (LIVE.load(Ordering::Relaxed) - before) as f64 / METERS as f64 / 1024.0;
    println!("power ring after six hours: {kib:.2} KiB per meter");
    assert_eq!(rings[0].power().count(), POINTS + 1);
    // Was 8 KiB: (second, watts) pairs in a ring that grew by doubling.
    assert!(kib <= 2.85, "power ring {kib:.2} KiB");
}
