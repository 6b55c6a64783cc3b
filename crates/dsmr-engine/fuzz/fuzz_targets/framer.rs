//! Bytes in arbitrary chunks (size from the first byte) through the framer
//! and decoder: no panic, the framer's buffer stays within its cap, and the
//! telegrams framed are the same as when the bytes come in one piece.
//! Framers and buffers are kept per thread and reset by `finish`.
#![no_main]

use dsmr_engine::{FrameEvent, Framer, Telegram, Zone};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

const LIMIT: usize = 4096;

struct State {
    telegram: Telegram,
    chunked: Vec<u8>,
    whole: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State {
        telegram: Telegram::new(),
        chunked: Vec::new(),
        whole: Vec::new(),
    });
}

/// Appends a framed telegram, length first, so that a list compares as one
/// buffer.
fn record(out: &mut Vec<u8>, frame: &[u8]) {
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(frame);
}

fuzz_target!(|data: &[u8]| {
    let (chunk, data) = match data.split_first() {
        Some((c, rest)) => (*c as usize + 1, rest),
        None => return,
    };
    STATE.with(|s| {
        let s = &mut *s.borrow_mut();
        s.chunked.clear();
        s.whole.clear();
        let (t, chunked, whole) = (&mut s.telegram, &mut s.chunked, &mut s.whole);

        let mut f = Framer::with_limit(LIMIT);
        for c in data.chunks(chunk) {
            f.feed(c, |e| {
                if let FrameEvent::Telegram(fr) = e {
                    record(chunked, fr);
                    if t.decode_into(fr).is_ok() {
                        let _ = t.verify(false);
                        let _ = serde_json::to_vec(&t.json_view(Zone::CET)).expect("serializes");
                    }
                }
            });
            assert!(f.buffered() <= LIMIT + LIMIT + 8);
        }
        f.finish(|e| {
            if let FrameEvent::Telegram(fr) = e {
                record(chunked, fr);
            }
        });

        if data.len() <= LIMIT {
            let mut f = Framer::with_limit(LIMIT);
            f.feed(data, |e| {
                if let FrameEvent::Telegram(fr) = e {
                    record(whole, fr);
                }
            });
            f.finish(|e| {
                if let FrameEvent::Telegram(fr) = e {
                    record(whole, fr);
                }
            });
            assert!(chunked == whole, "chunking changed the telegrams framed");
        }
    });
});
