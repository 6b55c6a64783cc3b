//! Any bytes straight into the telegram decoder (no framer in front), fresh
//! and into a reused `Telegram` whose per-position cache holds a real
//! meter's layout and then the input's own: the cache must never change
//! the result.
//!
//! The real meter's telegram is decoded once per process; each run starts
//! from a copy of it (`clone_from`), not from decoding it again.
#![no_main]

use dsmr_engine::{Telegram, Zone};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

const WARM: &[u8] =
    include_bytes!("../../../../fixtures/nl_dsmr50_iskra_am550t_3phase_issue91.txt");

struct State {
    template: Telegram,
    warm: Telegram,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new({
        let template = Telegram::decode(WARM).expect("the warm-up fixture decodes");
        State { warm: template.clone(), template }
    });
}

fn observable(t: &Telegram) -> String {
    format!(
        "{}\n{:?}\n{:?}\n{:?}",
        serde_json::to_string(&t.json_view(Zone::CET)).expect("serializes"),
        t.errors,
        t.unknown,
        t.raw()
    )
}

fuzz_target!(|data: &[u8]| {
    let fresh = Telegram::decode(data);
    if let Ok(t) = &fresh {
        let _ = t.verify(false);
        let _ = t.last_power_failure();
    }
    let fresh = fresh.map(|t| observable(&t));
    STATE.with(|s| {
        let s = &mut *s.borrow_mut();
        s.warm.clone_from(&s.template);
        for _ in 0..2 {
            let again = s.warm.decode_into(data).map(|()| observable(&s.warm));
            assert_eq!(again, fresh);
        }
    });
});
