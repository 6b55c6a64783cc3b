//! Bytes in arbitrary chunks through the framer and decoder: no panic, and
//! the framer's buffer stays within its cap.
#![no_main]

use dsmr_engine::{FrameEvent, Framer, Telegram, Zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (chunk, data) = match data.split_first() {
        Some((c, rest)) => (*c as usize + 1, rest),
        None => return,
    };
    let mut f = Framer::with_limit(4096);
    let mut t = Telegram::new();
    for c in data.chunks(chunk) {
        f.feed(c, |e| {
            if let FrameEvent::Telegram(fr) = e {
                if t.decode_into(fr).is_ok() {
                    let _ = t.verify(false);
                    let _ = serde_json::to_vec(&t.json_view(Zone::CET)).expect("serializes");
                }
            }
        });
        assert!(f.buffered() <= 4096 + 4096 + 8);
    }
    f.finish(|_| {});
});
