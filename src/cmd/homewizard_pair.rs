//! `dsmr-exporter homewizard pair HOST`: walks the user through pressing
//! the device's button and stores the API v2 token it hands out.
//!
//! The device answers `POST /api/user` with 403 until its button is
//! pressed, so the command asks once a second (asking again also keeps the
//! device's window open) and counts down on standard error until
//! `--wait` runs out. The token goes to a file of mode 0600: written to a
//! temporary file in the same directory (created before asking, so an
//! unwritable directory fails at once) and renamed over the target. It is
//! printed on standard output only with `--print-token`. Then the token
//! is tried on `GET /api`, which also names the device.

use crate::source::homewizard::pair::{
    device_info, request_token, Answer, DeviceInfo, PairConfig, PairError,
};
use crate::source::homewizard::{Ca, ExchangeError, Target, Token};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use tempfile::NamedTempFile;

/// Time between two requests while waiting for the button.
const ASK_EVERY: Duration = Duration::from_secs(1);
/// Without a terminal, the countdown is a line this often.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// Pairs, stores the token, checks it; the error is one line for `main`.
pub async fn run(cfg: &PairConfig) -> Result<(), String> {
    let target = cfg.target().map_err(|e| e.to_string())?;
    let file = open_token_file(&cfg.token_file)?;
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "Pairing with the HomeWizard device at {} (HTTPS, API v2) as local/{}; its certificate must name {}.",
        cfg.address(),
        cfg.user,
        cfg.trust.expected_name()
    );
    if let Ca::TestOnly(_) = cfg.trust.ca {
        let _ = writeln!(err, "Trusting a test-only CA instead of HomeWizard's.");
    }
    let token = wait_for_token(cfg, &target).await?;
    store_token(file, &cfg.token_file, &token)?;
    let _ = writeln!(
        err,
        "Paired. The token is in {} (mode 0600, readable only by you).",
        cfg.token_file.display()
    );
    let info = device_info(&target, &token)
        .await
        .map_err(|e| format!("the token is stored, but GET /api with it failed: {e}"))?;
    describe_device(&mut err, cfg, &info);
    if cfg.print_token {
        println!("{}", token.expose());
    }
    Ok(())
}

/// Asks until the button is pressed or `wait` runs out.
async fn wait_for_token(cfg: &PairConfig, target: &Target) -> Result<Token, String> {
    let deadline = Instant::now() + cfg.wait;
    let mut countdown = Countdown::new();
    let mut unreachable_said = false;
    loop {
        match request_token(target, &cfg.user).await {
            Ok(Answer::Token(t)) => {
                countdown.done();
                return Ok(t);
            }
            Ok(Answer::NotPressed) => {
                if !countdown.started() {
                    eprintln!(
                        "Press the button on the P1 meter now, briefly (it answers \
                         user:creation-not-enabled until you do)."
                    );
                }
                countdown.show(deadline.saturating_duration_since(Instant::now()));
            }
            // An unreachable device may come back (Wi-Fi); anything else
            // (a refused certificate, no API v2) will not.
            Err(PairError::Exchange(
                e
                @ (ExchangeError::Connect(_) | ExchangeError::Timeout(_) | ExchangeError::Http(_)),
            )) => {
                if !unreachable_said {
                    unreachable_said = true;
                    eprintln!("Cannot reach the device yet ({e}); trying again.");
                }
            }
            Err(e) => {
                countdown.done();
                return Err(format!("pairing with {}: {e}", cfg.address()));
            }
        }
        if Instant::now() + ASK_EVERY >= deadline {
            countdown.done();
            return Err(format!(
                "gave up after {}: the button on the device at {} was not pressed (or not \
                 reached). Run this again and press the button when asked.",
                crate::duration::format(cfg.wait),
                cfg.address()
            ));
        }
        tokio::time::sleep(ASK_EVERY).await;
    }
}

/// The seconds left, on one line rewritten in a terminal, or a line every
/// [`LINE_EVERY`] otherwise.
struct Countdown {
    tty: bool,
    last_line: Option<Instant>,
    shown: bool,
}

impl Countdown {
    fn new() -> Countdown {
        Countdown {
            tty: std::io::stderr().is_terminal(),
            last_line: None,
            shown: false,
        }
    }

    fn started(&self) -> bool {
        self.shown
    }

    fn show(&mut self, left: Duration) {
        self.shown = true;
        let left = crate::duration::format(Duration::from_secs(left.as_secs()));
        if self.tty {
            eprint!("\r  waiting for the button: {left} left   ");
        } else if self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
            self.last_line = Some(Instant::now());
            eprintln!("  waiting for the button: {left} left");
        }
    }

    /// Ends the rewritten line.
    fn done(&mut self) {
        if self.tty && self.shown {
            eprintln!();
        }
        self.shown = false;
    }
}

/// A temporary file beside `path` (mode 0600), so that a directory that
/// cannot be written fails before the user presses anything.
fn open_token_file(path: &Path) -> Result<NamedTempFile, String> {
    if path.is_dir() {
        return Err(format!(
            "the token file {} is a directory; give a file name",
            path.display()
        ));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = tempfile::Builder::new()
        .prefix(".homewizard-token-")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write the token file in {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make the token file private: {e}"))?;
    }
    Ok(file)
}

/// Writes the token and renames the file over `path`.
fn store_token(mut file: NamedTempFile, path: &Path, token: &Token) -> Result<(), String> {
    let lost = |e: &dyn std::fmt::Display| {
        format!(
            "cannot write the token file {}: {e}. Run pair again: the device replaces \
             the token under the same name.",
            path.display()
        )
    };
    writeln!(file, "{}", token.expose()).map_err(|e| lost(&e))?;
    file.as_file().sync_all().map_err(|e| lost(&e))?;
    file.persist(path).map_err(|e| lost(&e.error))?;
    Ok(())
}

/// What was paired with, and how to start the exporter with it.
fn describe_device(err: &mut impl Write, cfg: &PairConfig, info: &DeviceInfo) {
    let _ = writeln!(
        err,
        "Device: {} ({}), serial {}, firmware {}, API {}.",
        info.product_name, info.product_type, info.serial, info.firmware_version, info.api_version
    );
    let serial = if cfg.trust.serial.is_none() && !info.serial.is_empty() {
        format!(" --homewizard-serial {}", info.serial)
    } else {
        String::new()
    };
    let _ = writeln!(
        err,
        "Start the exporter with:\n  dsmr-exporter --homewizard {} --homewizard-token-file {}{serial}",
        cfg.address(),
        cfg.token_file.display()
    );
}
