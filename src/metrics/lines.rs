//! Samples written straight to text, byte for byte as `prometheus_client`'s
//! two text encoders write them, for the scrape of many meters
//! ([`super::chunked`]).
//!
//! The encoders are generic: every sample goes through a registry, a
//! collector, a descriptor encoder and a label-set encoder, and the text
//! then had to be split back into families. At 10 000 meters (730 000
//! samples) that was most of a scrape. Here a sample is one append of its
//! name, labels and value. The family's `# HELP`/`# TYPE` lines still come
//! from the encoder itself ([`descriptor`]), once per family and format.
//! Unit tests compare every line with the encoder's.

use super::exposition::{encode_registry, Format};
use super::families::{Family, MetricKind, ALL};
use super::samples::Sample;
use super::value::Value;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;
use std::sync::OnceLock;

/// Number of families.
pub(super) const FAMILIES: usize = ALL.len();

/// Appends one sample line: `name{k="v",…} value\n`.
pub(super) fn write_sample(out: &mut String, s: &Sample<'_>, format: Format) {
    let (name, _, kind) = s.family.describe();
    // Counters' names carry `_total`, which both encoders write.
    out.push_str(name);
    let mut open = false;
    for (k, v) in s.labels.iter() {
        out.push_str(if open { "," } else { "{" });
        open = true;
        out.push_str(k);
        out.push_str("=\"");
        push_escaped(out, v);
        out.push('"');
    }
    if open {
        out.push('}');
    }
    out.push(' ');
    match (kind, s.value) {
        // A counter is written as the u64 it is (signs are dropped when
        // pushed), a gauge as the i64.
        (MetricKind::Counter, Value::Int(v)) => {
            out.push_str(itoa::Buffer::new().format(v.unsigned_abs()))
        }
        (MetricKind::Gauge, Value::Int(v)) => out.push_str(itoa::Buffer::new().format(v)),
        (_, Value::Float(v)) => push_float(out, v, format),
    }
    out.push('\n');
}

/// A label value with `\`, `"` and line feeds escaped, as the encoders do.
fn push_escaped(out: &mut String, v: &str) {
    if !v.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A double as each encoder writes it: `dtoa`'s shortest form, and for
/// infinities and NaN the spelling of that format.
fn push_float(out: &mut String, v: f64, format: Format) {
    if v.is_finite() {
        out.push_str(dtoa::Buffer::new().format_finite(v));
        return;
    }
    out.push_str(match (format, v.is_nan(), v.is_sign_positive()) {
        (_, true, _) => "NaN",
        (Format::Text004, false, true) => "+Inf",
        (Format::Text004, false, false) => "-Inf",
        (Format::OpenMetrics, false, true) => "inf",
        (Format::OpenMetrics, false, false) => "-inf",
    });
}

/// The `# HELP` and `# TYPE` lines of `family` in `format`, as the encoder
/// writes them (computed once per format).
pub(super) fn descriptor(family: Family, format: Format) -> &'static str {
    static TEXT: OnceLock<Vec<String>> = OnceLock::new();
    static OPEN: OnceLock<Vec<String>> = OnceLock::new();
    let cell = match format {
        Format::Text004 => &TEXT,
        Format::OpenMetrics => &OPEN,
    };
    let all = cell.get_or_init(|| ALL.iter().map(|&f| encode_descriptor(f, format)).collect());
    all.get(family as usize).map_or("", String::as_str)
}

/// One family's descriptor through the encoder: a collector that writes
/// the descriptor and no sample.
fn encode_descriptor(family: Family, format: Format) -> String {
    #[derive(Debug)]
    struct Only(Family);
    impl Collector for Only {
        fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
            let (_, help, kind) = self.0.describe();
            let metric_type = match kind {
                MetricKind::Counter => MetricType::Counter,
                MetricKind::Gauge => MetricType::Gauge,
            };
            encoder.encode_descriptor(self.0.family_name(), help, None, metric_type)?;
            Ok(())
        }
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Only(family)));
    let mut text = String::new();
    if let Err(e) = encode_registry(&mut text, &registry, format) {
        tracing::error!("encoding a descriptor failed: {e}");
    }
    match text.strip_suffix("# EOF\n") {
        Some(t) => t.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::super::labels::Labels;
    use super::*;

    /// One family with its samples through the encoder: descriptor, lines.
    fn encoded(family: Family, samples: &[Sample<'static>], format: Format) -> String {
        #[derive(Debug)]
        struct One(Family, Vec<Sample<'static>>);
        impl Collector for One {
            fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
                let (_, help, kind) = self.0.describe();
                let metric_type = match kind {
                    MetricKind::Counter => MetricType::Counter,
                    MetricKind::Gauge => MetricType::Gauge,
                };
                let mut metric =
                    encoder.encode_descriptor(self.0.family_name(), help, None, metric_type)?;
                for s in &self.1 {
                    s.value.encode(kind, metric.encode_family(&s.labels)?)?;
                }
                Ok(())
            }
        }
        let mut registry = Registry::default();
        registry.register_collector(Box::new(One(family, samples.to_vec())));
        let mut text = String::new();
        encode_registry(&mut text, &registry, format).expect("encodes");
        text
    }

    fn written(family: Family, samples: &[Sample<'static>], format: Format) -> String {
        let mut text = descriptor(family, format).to_owned();
        for s in samples {
            write_sample(&mut text, s, format);
        }
        if format == Format::OpenMetrics {
            text.push_str("# EOF\n");
        }
        text
    }

    #[test]
    fn lines_are_the_encoders_own() {
        let values = [
            Value::Int(0),
            Value::Int(7_668_414_000),
            Value::Int(-42),
            Value::Int(i64::MIN),
            Value::Float(0.1),
            Value::Float(230.1),
            Value::Float(-1.5e-7),
            Value::Float(1.0e21),
            Value::Float(3.0),
            Value::Float(1_733_140_800.123),
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NEG_INFINITY),
        ];
        let labels = [
            Labels::default(),
            Labels::meter("main"),
            Labels::meter("a \"quoted\" \\ name\nwith a line").with("tariff", "1"),
            Labels::meter("m").with("phase", "l1").with("x", "é ü"),
        ];
        for family in [Family::Imported, Family::PhaseVoltage, Family::BuildInfo] {
            let samples: Vec<Sample<'static>> = labels
                .iter()
                .flat_map(|l| {
                    values.iter().map(move |&value| Sample {
                        family,
                        labels: l.clone(),
                        value,
                    })
                })
                .collect();
            for format in [Format::Text004, Format::OpenMetrics] {
                assert_eq!(
                    written(family, &samples, format),
                    encoded(family, &samples, format),
                    "{family:?} {format:?}"
                );
            }
        }
    }

    #[test]
    fn every_descriptor_is_there() {
        for family in ALL {
            for format in [Format::Text004, Format::OpenMetrics] {
                let d = descriptor(family, format);
                assert!(d.starts_with("# HELP "), "{family:?}");
                assert_eq!(d.matches('\n').count(), 2, "{d}");
                assert!(
                    d.contains(&format!("# TYPE {}", family.family_name())),
                    "{d}"
                );
            }
        }
    }
}
