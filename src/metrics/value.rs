//! A sample's value, kept exact from the telegram's decimal to the text.

use super::families::MetricKind;
use dsmr_engine::Fixed;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::fmt;

/// A sample value, kept exact: integers are written without a decimal point,
/// so a register reads as the integer it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// Written as the integer it is (`7668414000`).
    Int(i64),
    /// A value with a fraction, written as its nearest double.
    Float(f64),
}

impl Value {
    /// An exact decimal: an integer when it is one, else its nearest double.
    pub(super) fn exact(f: Fixed) -> Value {
        match f.as_integer() {
            Some(i) => Value::Int(i),
            None => Value::Float(f.to_f64()),
        }
    }

    /// A count from the meter. Meters send values above `i32::MAX`, so it is
    /// a u64; beyond `i64::MAX` (damaged input only) it becomes the nearest double.
    pub(super) fn count(n: u64) -> Value {
        i64::try_from(n).map_or(Value::Float(n as f64), Value::Int)
    }

    pub(super) fn encode(self, kind: MetricKind, enc: MetricEncoder<'_>) -> fmt::Result {
        match (kind, self) {
            // Counters are checked for sign when pushed.
            (MetricKind::Counter, Value::Int(v)) => ConstCounter::new(v.unsigned_abs()).encode(enc),
            (MetricKind::Counter, Value::Float(v)) => ConstCounter::new(v).encode(enc),
            (MetricKind::Gauge, Value::Int(v)) => ConstGauge::new(v).encode(enc),
            (MetricKind::Gauge, Value::Float(v)) => ConstGauge::new(v).encode(enc),
        }
    }

    pub(super) fn is_negative(self) -> bool {
        match self {
            Value::Int(v) => v < 0,
            Value::Float(v) => v < 0.0,
        }
    }
}
