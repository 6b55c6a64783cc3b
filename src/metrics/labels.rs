//! A sample's labels, and the one decoder of hex equipment ids that the
//! `equipment_id` label shows.

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};
use std::borrow::Cow;
use std::fmt;

const MAX_LABELS: usize = 5;

/// The labels of one sample, `meter` first; no allocation unless a value is
/// copied out of a telegram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels<'a> {
    pairs: [(&'static str, Cow<'a, str>); MAX_LABELS],
    len: usize,
}

impl<'a> Labels<'a> {
    pub(super) fn meter(name: &'a str) -> Labels<'a> {
        Labels::default().with("meter", name)
    }

    pub(super) fn with(mut self, key: &'static str, value: impl Into<Cow<'a, str>>) -> Labels<'a> {
        // Every family has at most MAX_LABELS labels; a fifth would be a bug
        // (caught in debug builds), so release builds drop it rather than panic.
        debug_assert!(self.len < MAX_LABELS, "too many labels for {key}");
        if let Some(slot) = self.pairs.get_mut(self.len) {
            *slot = (key, value.into());
            self.len += 1;
        }
        self
    }

    /// The label pairs in the order they are written, `meter` first.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.pairs[..self.len].iter().map(|(k, v)| (*k, v.as_ref()))
    }
}

impl EncodeLabelSet for Labels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        for (k, v) in &self.pairs[..self.len] {
            prometheus_client::encoding::EncodeLabel::encode(
                &(*k, v.as_ref()),
                encoder.encode_label(),
            )?;
        }
        Ok(())
    }
}

/// Equipment ids (0-0:96.1.1, 0-n:96.1.0) are ASCII written as hex digits;
/// they are shown as that ASCII when they decode to printable characters,
/// else as written.
pub fn decode_equipment_id(raw: &str) -> String {
    fn nibble(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = raw.as_bytes();
    if b.is_empty() || b.len() % 2 != 0 {
        return raw.to_owned();
    }
    let decoded: Option<String> = b
        .chunks_exact(2)
        .map(|p| {
            let c = nibble(p[0])? << 4 | nibble(p[1])?;
            (0x20..=0x7e).contains(&c).then_some(c as char)
        })
        .collect();
    decoded.unwrap_or_else(|| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equipment_ids_decode_only_when_printable() {
        assert_eq!(
            decode_equipment_id("4530303434303037333832323436303139"),
            "E0044007382246019"
        );
        assert_eq!(decode_equipment_id("00000000000000"), "00000000000000");
        assert_eq!(decode_equipment_id("ADC3100000158491"), "ADC3100000158491");
        assert_eq!(decode_equipment_id("123"), "123");
        assert_eq!(decode_equipment_id("4G"), "4G");
    }
}
