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
    /// LISTEN_PID and LISTEN_FDS: systemd's socket activation, for
    /// `--web.systemd-socket` (sd_listen_fds(3)).
    pub listen_pid: Option<String>,
    /// See `listen_pid`.
    pub listen_fds: Option<String>,
    /// DSMR_EXPORTER_ENTSOE_TOKEN: the ENTSO-E security token, when the
    /// config file names no `entsoe_token_file`. Never a flag (`ps`).
    pub entsoe_token: Option<String>,
    /// DSMR_EXPORTER_HOMEWIZARD_TOKEN: the HomeWizard API v2 token itself,
    /// instead of a token file. Not a flag, for the same reason.
    pub homewizard_token: Option<String>,
    /// DSMR_EXPORTER_HOMEWIZARD_TEST_CA_FILE: for tests only, a PEM CA
    /// trusted instead of HomeWizard's, for a stand-in device.
    pub homewizard_test_ca: Option<std::path::PathBuf>,
}

/// The variable that holds the ENTSO-E security token.
pub const ENTSOE_TOKEN_VAR: &str = "DSMR_EXPORTER_ENTSOE_TOKEN";
