//! Any bytes straight into the telegram decoder (no framer in front).
#![no_main]

use dsmr_exporter::dsmr::{json, Telegram, Zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Telegram::decode(data) {
        let _ = t.verify(false);
        let _ = t.last_power_failure();
        let _ = json::telegram_to_json(&t, &Zone::CET);
    }
});
