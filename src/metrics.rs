//! Metric options shared by the server and the CLI.
// stub: replaced at merge

use std::time::Duration;

/// How meter state becomes metrics.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// A meter without a valid telegram for this long is reported as stale
    /// and its readings are left out.
    pub stale_after: Duration,
    /// Whether to publish equipment ids (they identify a household).
    pub expose_equipment_ids: bool,
}
