//! Every metric family the exporter writes: name, help and type, in the
//! order they are written. The names are the contract of `METRICS.md`.

/// Every metric family, in the order they are written. The names are the
/// contract of `METRICS.md`; counters carry their `_total` here too and the
/// encoder's own suffix is stripped from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    MeterInfo,
    MeterTimestamp,
    Imported,
    Exported,
    TotalImported,
    TotalExported,
    ReactiveImported,
    ReactiveExported,
    TotalReactiveImported,
    TotalReactiveExported,
    ImportWatts,
    ExportWatts,
    ReactiveImportVar,
    ReactiveExportVar,
    ApparentImport,
    ApparentExport,
    PowerFactor,
    Frequency,
    Demand,
    MonthPeak,
    MonthPeakTimestamp,
    Tariff,
    ThresholdWatts,
    ThresholdAmperes,
    ThresholdVoltamperes,
    BreakerState,
    PhaseImport,
    PhaseExport,
    PhaseReactiveImport,
    PhaseReactiveExport,
    PhaseVoltage,
    PhaseCurrent,
    PhaseCurrentLimit,
    PhasePowerFactor,
    PhaseSags,
    PhaseSwells,
    PowerFailures,
    LongPowerFailures,
    LongPowerFailureEnd,
    LongPowerFailureDuration,
    Gas,
    Water,
    Heat,
    MbusReadingTimestamp,
    MbusDeviceInfo,
    MbusValve,
    CapacityQuarterProjected,
    CapacityQuarterStart,
    CapacityMonthPeak,
    CapacityRollingAverage,
    CapacityRollingMonths,
    CapacityCost,
    CapacityValuesSent,
    Telegrams,
    LastTelegram,
    SourceUp,
    Reconnects,
    FieldErrors,
    RegisterRejections,
    CrcX25,
    Cost,
    Earnings,
    Price,
    PriceAvailable,
    PriceAhead,
    ScrapeDuration,
    ConfigReloadSuccessful,
    ConfigReloadTimestamp,
    BuildInfo,
}

/// The two metric types this exporter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A register that only grows (`_total`).
    Counter,
    /// A reading that goes up and down.
    Gauge,
}

impl Family {
    /// The sample name (`…_total` for counters), as `METRICS.md` spells it.
    pub fn name(self) -> &'static str {
        self.describe().0
    }

    /// The family name of the `# TYPE`/`# HELP` lines: a counter's sample
    /// name without `_total`, which OpenMetrics and the encoders add back.
    pub fn family_name(self) -> &'static str {
        let (name, _, kind) = self.describe();
        match kind {
            MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
            MetricKind::Gauge => name,
        }
    }

    /// The `# HELP` text: one sentence, no characters that need escaping.
    pub fn help(self) -> &'static str {
        self.describe().1
    }

    /// Counter or gauge.
    pub fn kind(self) -> MetricKind {
        self.describe().2
    }

    /// Name, help and type.
    pub(super) fn describe(self) -> (&'static str, &'static str, MetricKind) {
        use MetricKind::{Counter as C, Gauge as G};
        match self {
            Family::MeterInfo => ("dsmr_meter_info", "Protocol version and manufacturer code the meter announces; always 1.", G),
            Family::MeterTimestamp => ("dsmr_meter_timestamp_seconds", "The meter's own clock (0-0:1.0.0) as Unix time.", G),
            Family::Imported => ("dsmr_electricity_imported_joules_total", "Electricity taken from the grid per tariff: the meter's register (1-0:1.8.t).", C),
            Family::Exported => ("dsmr_electricity_exported_joules_total", "Electricity delivered to the grid per tariff: the meter's register (1-0:2.8.t).", C),
            Family::TotalImported => ("dsmr_electricity_total_imported_joules_total", "Electricity taken from the grid, all tariffs, on meters with a total register (1-0:1.8.0).", C),
            Family::TotalExported => ("dsmr_electricity_total_exported_joules_total", "Electricity delivered to the grid, all tariffs, on meters with a total register (1-0:2.8.0).", C),
            Family::ReactiveImported => ("dsmr_electricity_reactive_imported_varh_total", "Reactive energy imported per tariff (1-0:3.8.t).", C),
            Family::ReactiveExported => ("dsmr_electricity_reactive_exported_varh_total", "Reactive energy exported per tariff (1-0:4.8.t).", C),
            Family::TotalReactiveImported => ("dsmr_electricity_total_reactive_imported_varh_total", "Reactive energy imported, all tariffs (1-0:3.8.0).", C),
            Family::TotalReactiveExported => ("dsmr_electricity_total_reactive_exported_varh_total", "Reactive energy exported, all tariffs (1-0:4.8.0).", C),
            Family::ImportWatts => ("dsmr_electricity_import_watts", "Power taken from the grid now (1-0:1.7.0).", G),
            Family::ExportWatts => ("dsmr_electricity_export_watts", "Power delivered to the grid now (1-0:2.7.0).", G),
            Family::ReactiveImportVar => ("dsmr_electricity_reactive_import_var", "Reactive power imported now (1-0:3.7.0).", G),
            Family::ReactiveExportVar => ("dsmr_electricity_reactive_export_var", "Reactive power exported now (1-0:4.7.0).", G),
            Family::ApparentImport => ("dsmr_electricity_apparent_import_voltamperes", "Apparent power imported now (1-0:9.7.0).", G),
            Family::ApparentExport => ("dsmr_electricity_apparent_export_voltamperes", "Apparent power exported now (1-0:10.7.0).", G),
            Family::PowerFactor => ("dsmr_electricity_power_factor", "Power factor over all phases (1-0:13.7.0).", G),
            Family::Frequency => ("dsmr_electricity_frequency_hertz", "Grid frequency (1-0:14.7.0).", G),
            Family::Demand => ("dsmr_electricity_demand_watts", "Average power of the current quarter-hour (1-0:1.4.0, capacity tariff).", G),
            Family::MonthPeak => ("dsmr_electricity_month_peak_watts", "Highest quarter-hour average power this month (1-0:1.6.0).", G),
            Family::MonthPeakTimestamp => ("dsmr_electricity_month_peak_timestamp_seconds", "When this month's peak quarter-hour was, as Unix time.", G),
            Family::Tariff => ("dsmr_electricity_tariff", "The tariff the meter counts in now (0-0:96.14.0).", G),
            Family::ThresholdWatts => ("dsmr_electricity_threshold_watts", "Power limit set in the meter (0-0:17.0.0), when given in kW.", G),
            Family::ThresholdAmperes => ("dsmr_electricity_threshold_amperes", "Current limit set in the meter (0-0:17.0.0), when given in A.", G),
            Family::ThresholdVoltamperes => ("dsmr_electricity_threshold_voltamperes", "Apparent power limit set in the meter (0-0:17.0.0), when given in kVA.", G),
            Family::BreakerState => ("dsmr_breaker_state", "Main breaker (0-0:96.3.10): 0 disconnected, 1 connected, 2 ready to reconnect.", G),
            Family::PhaseImport => ("dsmr_phase_import_watts", "Power taken from the grid now, per phase (1-0:21/41/61.7.0).", G),
            Family::PhaseExport => ("dsmr_phase_export_watts", "Power delivered to the grid now, per phase (1-0:22/42/62.7.0).", G),
            Family::PhaseReactiveImport => ("dsmr_phase_reactive_import_var", "Reactive power imported now, per phase (1-0:23/43/63.7.0).", G),
            Family::PhaseReactiveExport => ("dsmr_phase_reactive_export_var", "Reactive power exported now, per phase (1-0:24/44/64.7.0).", G),
            Family::PhaseVoltage => ("dsmr_phase_voltage_volts", "Voltage per phase (1-0:32/52/72.7.0).", G),
            Family::PhaseCurrent => ("dsmr_phase_current_amperes", "Current per phase (1-0:31/51/71.7.0).", G),
            Family::PhaseCurrentLimit => ("dsmr_phase_current_limit_amperes", "Fuse supervision threshold per phase (1-0:31/51/71.4.0).", G),
            Family::PhasePowerFactor => ("dsmr_phase_power_factor", "Power factor per phase (1-0:33/53/73.7.0).", G),
            Family::PhaseSags => ("dsmr_phase_voltage_sags_total", "Voltage sags the meter counted per phase (1-0:32/52/72.32.0).", C),
            Family::PhaseSwells => ("dsmr_phase_voltage_swells_total", "Voltage swells the meter counted per phase (1-0:32/52/72.36.0).", C),
            Family::PowerFailures => ("dsmr_power_failures_total", "Power failures in any phase, counted by the meter (0-0:96.7.21).", C),
            Family::LongPowerFailures => ("dsmr_long_power_failures_total", "Long power failures in any phase, counted by the meter (0-0:96.7.9).", C),
            Family::LongPowerFailureEnd => ("dsmr_long_power_failure_last_end_timestamp_seconds", "End of the newest long power failure in the meter's log (1-0:99.97.0), as Unix time.", G),
            Family::LongPowerFailureDuration => ("dsmr_long_power_failure_last_duration_seconds", "Duration of the newest long power failure in the meter's log (1-0:99.97.0).", G),
            Family::Gas => ("dsmr_gas_cubic_meters_total", "Gas meter register on an M-Bus channel (0-n:24.2.1, 24.2.3 or 24.3.0).", C),
            Family::Water => ("dsmr_water_cubic_meters_total", "Water meter register on an M-Bus channel (0-n:24.2.1).", C),
            Family::Heat => ("dsmr_heat_joules_total", "Heat meter register on an M-Bus channel (0-n:24.2.1).", C),
            Family::MbusReadingTimestamp => ("dsmr_mbus_reading_timestamp_seconds", "When the M-Bus device captured its last reading, as Unix time.", G),
            Family::MbusDeviceInfo => ("dsmr_mbus_device_info", "A device announced on an M-Bus channel (0-n:24.1.0); always 1.", G),
            Family::MbusValve => ("dsmr_mbus_valve_state", "M-Bus valve (0-n:24.4.0): 0 closed, 1 open, 2 ready to open.", G),
            Family::CapacityQuarterProjected => ("dsmr_capacity_quarter_projected_watts", "Capacity tariff: the running quarter-hour's average power if the power now holds until its end.", G),
            Family::CapacityQuarterStart => ("dsmr_capacity_quarter_start_timestamp_seconds", "Capacity tariff: start of the running quarter-hour on the meter's clock, as Unix time.", G),
            Family::CapacityMonthPeak => ("dsmr_capacity_month_peak_watts", "Capacity tariff: this month's highest quarter-hour average power (1-0:1.6.0, or as recorded).", G),
            Family::CapacityRollingAverage => ("dsmr_capacity_rolling_average_watts", "Capacity tariff: average of the monthly peaks of this month and the 11 before, each at least 2.5 kW.", G),
            Family::CapacityRollingMonths => ("dsmr_capacity_rolling_average_months", "Capacity tariff: how many months the rolling average counts.", G),
            Family::CapacityCost => ("dsmr_capacity_cost_euros_per_year", "Capacity tariff: the rolling average in kW times the configured price per kW per year, in euros whatever the meter currency.", G),
            Family::CapacityValuesSent => ("dsmr_capacity_meter_values_sent", "Capacity tariff: 1 when the latest telegram carried 1-0:1.4.0 and 1-0:1.6.0, 0 when a capacity meter stopped sending them.", G),
            Family::Telegrams => ("dsmr_telegrams_total", "Telegrams framed from the source, by result.", C),
            Family::LastTelegram => ("dsmr_last_telegram_timestamp_seconds", "When the last valid telegram arrived (exporter clock), as Unix time.", G),
            Family::SourceUp => ("dsmr_source_up", "1 while the serial port or connection of the meter is open.", G),
            Family::Reconnects => ("dsmr_source_reconnects_total", "Times the source was reopened after a failure.", C),
            Family::FieldErrors => ("dsmr_field_errors_total", "Values left out of otherwise valid telegrams because they did not parse.", C),
            Family::RegisterRejections => ("dsmr_register_rejections_total", "Register values held at the last good value because they went backwards or grew faster than the meter can count, by register and reason.", C),
            Family::CrcX25 => ("dsmr_telegrams_crc_x25_total", "Valid telegrams whose CRC is CRC-16/X25 (Holley meters, header HLY) instead of the DSMR CRC-16/ARC; they are counted in dsmr_telegrams_total too.", C),
            Family::Cost => ("dsmr_cost_total", "Money spent since the exporter started (or kept across restarts in the price state directory): each register increase times the all-in price in force at the meter's time, by commodity (fixed: standing charges pro rata).", C),
            Family::Earnings => ("dsmr_earnings_total", "Money earned by electricity delivered to the grid since the exporter started (or kept across restarts), at the export price in force at the meter's time.", C),
            Family::Price => ("dsmr_price", "The all-in price per unit at the meter's latest telegram (absent while missing).", G),
            Family::PriceAvailable => ("dsmr_price_available", "1 when a price is known for the meter's latest telegram, 0 when missing: cost then stops counting.", G),
            Family::PriceAhead => ("dsmr_price_ahead", "The all-in dynamic price per unit of each interval known ahead, by its start (UTC); the interval in force and up to two days after it.", G),
            Family::ScrapeDuration => ("dsmr_scrape_duration_seconds", "Time this scrape spent copying the meter's series, including waiting for its lock.", G),
            Family::ConfigReloadSuccessful => ("dsmr_config_last_reload_successful", "1 when the last reload of the configuration file succeeded, 0 when it failed and the previous configuration runs on.", G),
            Family::ConfigReloadTimestamp => ("dsmr_config_last_reload_success_timestamp_seconds", "When the running configuration was loaded (start or last successful reload), as Unix time.", G),
            Family::BuildInfo => ("dsmr_exporter_build_info", "The exporter's version; always 1.", G),
        }
    }
}

/// Every family, in declaration order: `ALL[f as usize] == f` (a test
/// checks it), so a family's number indexes tables such as the scrape's
/// per-family texts.
pub(super) const ALL: [Family; Family::BuildInfo as usize + 1] = [
    Family::MeterInfo,
    Family::MeterTimestamp,
    Family::Imported,
    Family::Exported,
    Family::TotalImported,
    Family::TotalExported,
    Family::ReactiveImported,
    Family::ReactiveExported,
    Family::TotalReactiveImported,
    Family::TotalReactiveExported,
    Family::ImportWatts,
    Family::ExportWatts,
    Family::ReactiveImportVar,
    Family::ReactiveExportVar,
    Family::ApparentImport,
    Family::ApparentExport,
    Family::PowerFactor,
    Family::Frequency,
    Family::Demand,
    Family::MonthPeak,
    Family::MonthPeakTimestamp,
    Family::Tariff,
    Family::ThresholdWatts,
    Family::ThresholdAmperes,
    Family::ThresholdVoltamperes,
    Family::BreakerState,
    Family::PhaseImport,
    Family::PhaseExport,
    Family::PhaseReactiveImport,
    Family::PhaseReactiveExport,
    Family::PhaseVoltage,
    Family::PhaseCurrent,
    Family::PhaseCurrentLimit,
    Family::PhasePowerFactor,
    Family::PhaseSags,
    Family::PhaseSwells,
    Family::PowerFailures,
    Family::LongPowerFailures,
    Family::LongPowerFailureEnd,
    Family::LongPowerFailureDuration,
    Family::Gas,
    Family::Water,
    Family::Heat,
    Family::MbusReadingTimestamp,
    Family::MbusDeviceInfo,
    Family::MbusValve,
    Family::CapacityQuarterProjected,
    Family::CapacityQuarterStart,
    Family::CapacityMonthPeak,
    Family::CapacityRollingAverage,
    Family::CapacityRollingMonths,
    Family::CapacityCost,
    Family::CapacityValuesSent,
    Family::Telegrams,
    Family::LastTelegram,
    Family::SourceUp,
    Family::Reconnects,
    Family::FieldErrors,
    Family::RegisterRejections,
    Family::CrcX25,
    Family::Cost,
    Family::Earnings,
    Family::Price,
    Family::PriceAvailable,
    Family::PriceAhead,
    Family::ScrapeDuration,
    Family::ConfigReloadSuccessful,
    Family::ConfigReloadTimestamp,
    Family::BuildInfo,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_listed_once_and_follows_the_suffix_rule() {
        assert_eq!(ALL.len(), Family::BuildInfo as usize + 1);
        let mut names = std::collections::HashSet::new();
        for (i, &f) in ALL.iter().enumerate() {
            assert_eq!(f as usize, i);
            let (name, help, kind) = f.describe();
            assert!(names.insert(name), "{name} twice");
            assert_eq!(
                name.ends_with("_total"),
                kind == MetricKind::Counter,
                "{name}"
            );
            assert!(name.starts_with("dsmr_") && help.ends_with('.'), "{name}");
        }
    }
}
