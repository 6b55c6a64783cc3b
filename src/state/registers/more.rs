//! The guard of the energy registers of tariffs above 4 (`1-0:1.8.5`,
//! Israeli `1-0:1.8.11` … `1.8.13`, export `2.8.t`), which the engine lists in
//! [`Telegram::imported_more`] and [`Telegram::exported_more`].
//!
//! Each is judged by the same rules as the fixed registers (see the parent
//! module), keyed by its direction and tariff number and labelled
//! `1-0:1.8.N` / `1-0:2.8.N`. A meter gets at most [`MORE`] such registers,
//! made in the order they first appear and kept for the process's life:
//! a meter without them spends nothing on them, and as a meter sends the
//! same tariffs in every telegram, the steady state allocates nothing. A
//! register beyond the cap is passed through as sent (not guarded), with
//! one warning per meter.

use super::{Commodity, Context, NoBase, Outcome, Point, Reading, Registers, Slot, Verdict};
use dsmr_engine::telegram::{TariffRegister, Telegram};
use std::sync::OnceLock;

/// How many registers of tariffs above 4 (both directions together) are
/// guarded per meter. Real meters send one to three per direction.
pub const MORE: usize = 16;

/// A register of a tariff above 4: its direction and tariff number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    exported: bool,
    tariff: u8,
}

/// The `register` label of a key, from a table built once per process
/// (512 short strings), so the label is `&'static` like the fixed ones.
fn name(key: Key) -> &'static str {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        (0..512)
            .map(|i| format!("1-0:{}.8.{}", 1 + i / 256, i % 256))
            .collect()
    });
    &names[usize::from(key.exported) * 256 + usize::from(key.tariff)]
}

/// The guarded registers of tariffs above 4 of one meter.
#[derive(Debug, Default)]
pub(super) struct More {
    /// At most [`MORE`], in the order they first arrived.
    slots: Vec<(Key, Slot)>,
    /// Whether the warning for a register beyond [`MORE`] was logged.
    overflow_logged: bool,
}

impl More {
    /// The guarded registers, for the rejection counts.
    pub(super) fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().map(|(_, s)| s)
    }

    /// A new meter: every register starts again from what it sends.
    pub(super) fn forget_all(&mut self, out: &mut Outcome) {
        for (key, slot) in &mut self.slots {
            if slot.forget() {
                out.set_tariff_reset(key.exported, key.tariff);
            }
        }
    }

    /// The slot of `key`, made now if it is new; `None` beyond the cap.
    fn index(&mut self, key: Key) -> Option<usize> {
        if let Some(j) = self.slots.iter().position(|(k, _)| *k == key) {
            return Some(j);
        }
        if self.slots.len() >= MORE {
            return None;
        }
        let slot = Slot {
            name: name(key),
            ..Slot::default()
        };
        self.slots.push((key, slot));
        Some(self.slots.len() - 1)
    }

    /// Warns once per meter that `key` is beyond the cap.
    fn overflow(&mut self, cx: &Context<'_>, key: Key) {
        if std::mem::replace(&mut self.overflow_logged, true) {
            return;
        }
        tracing::warn!(
            meter = cx.meter,
            register = name(key),
            "more than {MORE} registers of tariffs above 4: this one and any further are not guarded"
        );
    }
}

impl Registers {
    /// Checks every register of `t.imported_more` and `t.exported_more`
    /// and rewrites them to what the series should show: a rejected value
    /// becomes the held one, an out-of-range one is dropped, and a missing
    /// one (or a dropped one) is put back while the carry period lasts.
    pub(super) fn check_more(
        &mut self,
        t: &mut Telegram,
        meter_time: Option<i64>,
        cx: &Context<'_>,
        out: &mut Outcome,
    ) {
        for exported in [false, true] {
            let field = match exported {
                false => &mut t.imported_more,
                true => &mut t.exported_more,
            };
            // Taken out and put back: moves the buffer, never allocates.
            let mut list = std::mem::take(field);
            list.retain_mut(|r| self.judge_more(exported, r, meter_time, cx, out));
            self.carry_more(exported, &mut list, cx);
            *match exported {
                false => &mut t.imported_more,
                true => &mut t.exported_more,
            } = list;
        }
    }

    /// Judges one register in place; false when it is out of range and so
    /// to be treated as missing.
    fn judge_more(
        &mut self,
        exported: bool,
        r: &mut TariffRegister,
        meter_time: Option<i64>,
        cx: &Context<'_>,
        out: &mut Outcome,
    ) -> bool {
        let key = Key {
            exported,
            tariff: r.tariff,
        };
        let Some(j) = self.more.index(key) else {
            self.more.overflow(cx, key);
            return true;
        };
        let slot = &mut self.more.slots[j].1;
        if slot.take_unchanged(Reading::Q(r.value), meter_time, cx) {
            return true;
        }
        let p = match Point::of(Reading::Q(r.value), meter_time, cx) {
            Ok(p) => p,
            Err(NoBase::Unknown) => return true,
            Err(NoBase::OutOfRange) => {
                out.field_errors += 1;
                return false;
            }
        };
        slot.seen = Some(cx.now);
        match slot.judge(p, Commodity::Energy) {
            Verdict::Taken => {}
            Verdict::Reset(from) => {
                out.set_tariff_reset(exported, r.tariff);
                super::log_reset(cx, slot.name, from, p.base);
            }
            Verdict::Rejected(reason, held) => {
                if let Reading::Q(q) = held.reading {
                    r.value = q;
                }
                let register = slot.name;
                self.log_rejection(cx, register, reason, held.base, p.base);
            }
        }
        true
    }

    /// Puts back, in tariff order, each guarded register of this direction
    /// that the telegram lacks, while the meter sent it within the carry
    /// period.
    fn carry_more(&self, exported: bool, list: &mut Vec<TariffRegister>, cx: &Context<'_>) {
        for (key, slot) in &self.more.slots {
            if key.exported != exported {
                continue;
            }
            let recent = slot
                .seen
                .is_some_and(|s| cx.now.saturating_duration_since(s) <= cx.carry);
            let Some(Reading::Q(value)) = slot.held.map(|h| h.reading).filter(|_| recent) else {
                continue;
            };
            if let Err(at) = list.binary_search_by_key(&key.tariff, |r| r.tariff) {
                let tariff = key.tariff;
                list.insert(at, TariffRegister { tariff, value });
            }
        }
    }
}
