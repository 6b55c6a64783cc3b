//! The environment variables read outside clap, taken once at start so
//! that tests can hand in their own.

/// The environment variables read outside clap.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// RUST_LOG.
    pub rust_log: Option<String>,
    /// DSMR_EXPORTER_SMARTY_KEY: the Smarty key itself. An environment
    /// variable, not a flag, so that it never shows in `ps`.
    pub smarty_key: Option<String>,
    /// DSMR_EXPORTER_HOMEWIZARD_TOKEN: the HomeWizard API v2 token itself,
    /// instead of a token file. Not a flag, for the same reason.
    pub homewizard_token: Option<String>,
    /// DSMR_EXPORTER_HOMEWIZARD_TEST_CA_FILE: for tests only, a PEM CA
    /// trusted instead of HomeWizard's, for a stand-in device.
    pub homewizard_test_ca: Option<std::path::PathBuf>,
}
