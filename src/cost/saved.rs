//! What a meter's cost account keeps across restarts, as text: its totals
//! and what billing needs to go on from where it stopped (the registers'
//! last values and the meter's time of the latest telegram). Pure: the
//! file itself is written and read by `crate::supervise::costs`.
//!
//! ```text
//! # dsmr-exporter cost v1
//! currency EUR
//! at 1764669600
//! spent electricity 600000000000000000
//! earned 35000000000000000
//! fixed 2332800000000000
//! import 1 1000000000000
//! mbus 1 gas 100250000000
//! ```
//!
//! Money in 10^-18 of the currency ([`Atto`]), standing charges in nanos
//! times seconds, register values in 10^-9 of the price's unit: the
//! account's own integers, so a restart continues to the last digit.

use super::money::Atto;
use super::plan::Commodity;

/// The first line of the text.
pub const VERSION_LINE: &str = "# dsmr-exporter cost v1";

/// Longer than any text [`format`] writes: a file beyond it is not one.
pub const MAX_BYTES: u64 = 4096;

/// Money beyond this (10^18 of a currency, in atto) is not a household's.
const MAX_MONEY: i128 = 1_000_000_000_000_000_000_000_000_000_000_000_000;

/// A register beyond this (10^21 units, in nanos) is no meter's.
const MAX_REGISTER: i128 = 1_000_000_000_000_000_000_000_000_000_000;

/// The spent commodities, in the account's order.
const SPENT: [Commodity; 4] = [
    Commodity::Electricity,
    Commodity::Gas,
    Commodity::Water,
    Commodity::Heat,
];

/// One account's totals and billing bases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saved {
    /// The plan's currency: totals continue only in the same one.
    pub currency: String,
    /// The meter's time (Unix seconds) of the latest billed telegram.
    pub at: i64,
    /// Money spent: electricity, gas, water, heat.
    pub spent: [Atto; 4],
    /// Money earned by export.
    pub earned: Atto,
    /// Standing charges: nanos per day times seconds.
    pub fixed: i128,
    /// Import registers (total, tariffs 1 to 4) at the latest telegram.
    pub imported: [Option<i128>; 5],
    /// Export registers, likewise.
    pub exported: [Option<i128>; 5],
    /// M-Bus channels 1 to 4: what each counted and its register.
    pub mbus: [Option<(Commodity, i128)>; 4],
}

/// The text of `s`.
pub fn format(s: &Saved) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{VERSION_LINE}\ncurrency {}\nat {}\n", s.currency, s.at);
    for (c, v) in SPENT.iter().zip(s.spent) {
        let _ = writeln!(out, "spent {} {v}", c.as_str());
    }
    let _ = writeln!(out, "earned {}\nfixed {}", s.earned, s.fixed);
    for (key, regs) in [("import", &s.imported), ("export", &s.exported)] {
        for (t, v) in regs.iter().enumerate() {
            if let Some(v) = v {
                let _ = writeln!(out, "{key} {t} {v}");
            }
        }
    }
    for (c, m) in s.mbus.iter().enumerate() {
        if let Some((kind, v)) = m {
            let _ = writeln!(out, "mbus {} {} {v}", c + 1, kind.as_str());
        }
    }
    out
}

/// Reads the text back, or the line (1-based) that is wrong and why. Every
/// key at most once; `currency` and `at` are required.
pub fn parse(text: &str) -> Result<Saved, (usize, &'static str)> {
    if text.len() as u64 > MAX_BYTES {
        return Err((1, "longer than 4096 bytes: not a cost file"));
    }
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, l)) if l.trim_end() == VERSION_LINE => {}
        _ => return Err((1, "not a cost file (first line)")),
    }
    let mut s = Saved::default();
    let (mut currency, mut at, mut earned, mut fixed) = (false, false, false, false);
    let mut spent = [false; 4];
    for (i, line) in lines {
        let n = i + 1;
        let f: Vec<&str> = line.split_whitespace().collect();
        let once = |seen: &mut bool| {
            if std::mem::replace(seen, true) {
                Err((n, "a key given twice"))
            } else {
                Ok(())
            }
        };
        match f.as_slice() {
            [] => {}
            ["currency", c] => {
                once(&mut currency)?;
                if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err((n, "expected a currency of three capitals"));
                }
                s.currency = (*c).to_owned();
            }
            ["at", v] => {
                once(&mut at)?;
                s.at = v.parse().map_err(|_| (n, "expected Unix seconds"))?;
            }
            ["spent", c, v] => {
                let k = SPENT
                    .iter()
                    .position(|k| k.as_str() == *c)
                    .ok_or((n, "expected electricity, gas, water or heat"))?;
                once(&mut spent[k])?;
                s.spent[k] = money(v).ok_or((n, "expected money in atto, at most 10^36"))?;
            }
            ["earned", v] => {
                once(&mut earned)?;
                s.earned = money(v).ok_or((n, "expected money in atto, at most 10^36"))?;
            }
            ["fixed", v] => {
                once(&mut fixed)?;
                s.fixed = money(v).ok_or((n, "expected nanos times seconds, at most 10^36"))?;
            }
            [key @ ("import" | "export"), t, v] => {
                let regs = if *key == "import" {
                    &mut s.imported
                } else {
                    &mut s.exported
                };
                let slot = match t.parse::<usize>() {
                    Ok(t) if t < regs.len() => &mut regs[t],
                    _ => return Err((n, "expected a tariff, 0 to 4")),
                };
                if slot.is_some() {
                    return Err((n, "a key given twice"));
                }
                *slot = Some(register(v).ok_or((n, "expected a register in nanos"))?);
            }
            ["mbus", c, kind, v] => {
                let slot = match c.parse::<usize>() {
                    Ok(c @ 1..=4) => &mut s.mbus[c - 1],
                    _ => return Err((n, "expected a channel, 1 to 4")),
                };
                let kind = [Commodity::Gas, Commodity::Water, Commodity::Heat]
                    .into_iter()
                    .find(|k| k.as_str() == *kind)
                    .ok_or((n, "expected gas, water or heat"))?;
                if slot.is_some() {
                    return Err((n, "a key given twice"));
                }
                *slot = Some((
                    kind,
                    register(v).ok_or((n, "expected a register in nanos"))?,
                ));
            }
            _ => return Err((n, "not a line of a cost file")),
        }
    }
    if !currency || !at {
        return Err((1, "no currency or no at line"));
    }
    Ok(s)
}

/// A decimal integer within ±[`MAX_MONEY`].
fn money(v: &str) -> Option<i128> {
    v.parse::<i128>()
        .ok()
        .filter(|v| (-MAX_MONEY..=MAX_MONEY).contains(v))
}

/// A register: 0 to [`MAX_REGISTER`].
fn register(v: &str) -> Option<i128> {
    v.parse::<i128>()
        .ok()
        .filter(|v| (0..=MAX_REGISTER).contains(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Saved {
        Saved {
            currency: "EUR".into(),
            at: 1_764_669_600,
            spent: [600_000_000_000_000_000, -5, 0, 0],
            earned: 35_000_000_000_000_000,
            fixed: 2_332_800_000_000_000,
            imported: [
                None,
                Some(1_000_000_000_000),
                Some(2_002_000_000_000),
                None,
                None,
            ],
            exported: [None, Some(500_500_000_000), None, None, None],
            mbus: [Some((Commodity::Gas, 100_250_000_000)), None, None, None],
        }
    }

    #[test]
    fn the_text_reads_back_to_the_last_digit() {
        let s = sample();
        let text = format(&s);
        assert!(text.starts_with(VERSION_LINE), "{text}");
        assert!(text.contains("\nmbus 1 gas 100250000000\n"), "{text}");
        assert_eq!(parse(&text), Ok(s));
    }

    #[test]
    fn anything_else_is_refused_with_its_line() {
        let good = format(&sample());
        assert_eq!(parse(""), Err((1, "not a cost file (first line)")));
        assert_eq!(
            parse("# dsmr-exporter capacity peaks v1\n").map(|_| ()),
            Err((1, "not a cost file (first line)"))
        );
        let twice = format!("{good}at 5\n");
        assert_eq!(
            parse(&twice).map(|_| ()).unwrap_err().1,
            "a key given twice"
        );
        for (bad, why) in [
            ("import 5 1", "expected a tariff, 0 to 4"),
            ("import 1 -1", "expected a register in nanos"),
            ("mbus 0 gas 1", "expected a channel, 1 to 4"),
            ("mbus 2 steam 1", "expected gas, water or heat"),
            ("spent fixed 1", "expected electricity, gas, water or heat"),
            ("what 1", "not a line of a cost file"),
        ] {
            let text = format!("{VERSION_LINE}\ncurrency EUR\nat 0\n{bad}\n");
            assert_eq!(parse(&text), Err((4, why)), "{bad}");
        }
        let huge = format!(
            "{VERSION_LINE}\ncurrency EUR\nat 0\nearned 1{}\n",
            "0".repeat(37)
        );
        assert!(parse(&huge).is_err());
        let without_at = format!("{VERSION_LINE}\ncurrency EUR\n");
        assert_eq!(parse(&without_at), Err((1, "no currency or no at line")));
    }
}
