//! dsmr-exporter
