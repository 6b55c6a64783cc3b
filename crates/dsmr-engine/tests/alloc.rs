//! No heap allocation per telegram in the steady state: a counting global
//! allocator watches framing + decoding once the buffers are warm. It counts
//! the test's own thread only: the harness's threads may allocate meanwhile
//! (a loaded machine made that show once).

use dsmr_engine::{FrameEvent, Framer, Telegram};
mod common;

use common::counting::allocations;

#[test]
fn steady_state_allocates_nothing() {
    let dir = common::fixtures_dir();
    let mut stream = Vec::new();
    for name in [
        "nl_dsmr50_iskra_am550t_3phase_issue91.txt",
        "be_fluvius_v171_peak_history_water.txt",
        "nl_dsmr42_kaifa_7powerfail_epoch.txt",
        "lu_smarty_spec_example_4mbus.txt",
        "nl_dsmr22_kaifa_kfm.txt",
    ] {
        stream.extend(std::fs::read(dir.join(name)).expect("fixture"));
        stream.extend_from_slice(b"noise between telegrams");
    }
    let mut framer = Framer::new();
    let mut t = Telegram::new();
    let mut ok = 0usize;
    let run = |framer: &mut Framer, t: &mut Telegram, ok: &mut usize| {
        for chunk in stream.chunks(97) {
            framer.feed(chunk, |e| {
                if let FrameEvent::Telegram(f) = e {
                    if t.decode_into(f).is_ok() && t.verify(false).is_ok() {
                        *ok += 1;
                    }
                }
            });
        }
    };
    // Warm up: buffers grow to the largest telegram.
    run(&mut framer, &mut t, &mut ok);
    run(&mut framer, &mut t, &mut ok);
    let before = allocations();
    ok = 0;
    for _ in 0..200 {
        run(&mut framer, &mut t, &mut ok);
    }
    let after = allocations();
    assert_eq!(ok, 200 * 5, "every telegram decoded");
    assert_eq!(after - before, 0, "allocations in the steady state");
    let probe = allocations();
    drop(std::hint::black_box(vec![0u8; 64]));
    assert_eq!(allocations(), probe + 1, "the counter counts");
}
