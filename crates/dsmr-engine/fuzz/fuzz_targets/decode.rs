//! Any bytes straight into the telegram decoder (no framer in front), fresh
//! and into a reused `Telegram` whose per-position cache holds a real
//! meter's layout and then the input's own: the cache must never change
//! the result.
#![no_main]

use dsmr_engine::{Telegram, Zone};
use libfuzzer_sys::fuzz_target;

const WARM: &[u8] =
    include_bytes!("../../../../fixtures/nl_dsmr50_iskra_am550t_3phase_issue91.txt");

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
    let mut warm = Telegram::new();
    let _ = warm.decode_into(WARM);
    for _ in 0..2 {
        let again = warm.decode_into(data).map(|()| observable(&warm));
        assert_eq!(again, fresh);
    }
});
