//! Any bytes straight into the telegram decoder (no framer in front), fresh
//! and into a reused `Telegram` whose per-position cache holds a real
//! meter's layout and then the input's own: the cache must never change
//! the result.
//!
//! Everything is built once per process: the real meter's telegram is
//! decoded once and each run starts from a copy of it (`clone_from`); the
//! JSON of the fresh decode and of each cached one is written into kept
//! buffers and compared as bytes, beside the errors, unknown lines and raw
//! text. A run costs three decodes and three serialisations without the
//! field errors' messages; no allocation once the buffers have grown.
#![no_main]

use dsmr_engine::telegram::UnknownLine;
use dsmr_engine::{Error, FieldError, Telegram, Zone};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

const WARM: &[u8] =
    include_bytes!("../../../../fixtures/nl_dsmr50_iskra_am550t_3phase_issue91.txt");

/// What a decode shows to its caller, in kept buffers.
#[derive(Default, PartialEq, Debug)]
struct Seen {
    result: Option<Error>,
    json: Vec<u8>,
    errors: Vec<FieldError>,
    unknown: Vec<UnknownLine>,
    raw: Vec<u8>,
}

impl Seen {
    /// The errors are compared as values; the JSON is written without
    /// them, since their messages are most of its bytes and of its cost
    /// (the `framer` target writes whole telegrams' JSON, messages and all).
    fn record(&mut self, t: &mut Telegram, result: Result<(), Error>) {
        self.json.clear();
        self.errors.clear();
        self.unknown.clear();
        self.raw.clear();
        self.result = result.err();
        if self.result.is_none() {
            let errors = std::mem::take(&mut t.errors);
            serde_json::to_writer(&mut self.json, &t.json_view(Zone::CET)).expect("serializes");
            t.errors = errors;
            self.errors.extend_from_slice(&t.errors);
            self.unknown.extend_from_slice(&t.unknown);
            self.raw.extend_from_slice(t.raw());
        }
    }
}

struct State {
    template: Telegram,
    warm: Telegram,
    blank: Telegram,
    fresh: Telegram,
    expected: Seen,
    seen: Seen,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new({
        let template = Telegram::decode(WARM).expect("the warm-up fixture decodes");
        State {
            warm: template.clone(),
            template,
            blank: Telegram::new(),
            fresh: Telegram::new(),
            expected: Seen::default(),
            seen: Seen::default(),
        }
    });
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|s| {
        let s = &mut *s.borrow_mut();
        // A fresh telegram: no cache from any earlier input.
        s.fresh.clone_from(&s.blank);
        let fresh = s.fresh.decode_into(data);
        if fresh.is_ok() {
            let _ = s.fresh.verify(false);
            let _ = s.fresh.last_power_failure();
        }
        s.expected.record(&mut s.fresh, fresh);

        // The real meter's cache, then the input's own.
        s.warm.clone_from(&s.template);
        for _ in 0..2 {
            let again = s.warm.decode_into(data);
            s.seen.record(&mut s.warm, again);
            assert_eq!(s.seen, s.expected);
        }
    });
});
